import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor, HashConstructor, HttpRequest } from '@smithy/types';

export interface SigningIdentity {
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
  region: string;
  service: string;
  sha256: ChecksumConstructor | HashConstructor;
  /** Add and sign `x-amz-content-sha256` when the request has none (the SDK's default: true). */
  applyChecksum?: boolean;
}

/**
 * SigV4 for the requests Fairsend sends itself (the streamed SendEmail), with the SDK's own
 * signer and hash, so the signature is the one the SDK would compute for the same request. The
 * payload hash is given in `x-amz-content-sha256` (computed over the streamed body beforehand),
 * so the body never has to be in memory. Tested against AWS's published SigV4 test suite.
 */
export function signRequest(
  identity: SigningIdentity,
  request: Omit<HttpRequest, 'body'> & { body?: string },
  signingDate?: Date,
): Promise<HttpRequest> {
  return createSigner(identity).sign(request as HttpRequest, signingDate ? { signingDate } : {});
}

/**
 * The one way Fairsend makes a SigV4 signer for the requests it sends itself (the streamed
 * SendEmail, the lean DynamoDB path): AWS's own signer, with the SDK client's hash. Made once per
 * client, so its derived signing key is cached across requests.
 */
export function createSigner(identity: SigningIdentity): SignatureV4 {
  return new SignatureV4({
    credentials: identity.credentials,
    region: identity.region,
    service: identity.service,
    sha256: identity.sha256,
    applyChecksum: identity.applyChecksum ?? true,
  });
}
