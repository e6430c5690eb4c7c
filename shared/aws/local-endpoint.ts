import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * The credentials Fairsend's AWS clients sign with when they talk to a stand-in on this machine
 * (dynalite, the SES stand-in), and that those stand-ins verify every request against. Not a
 * secret: the stand-ins listen on loopback only. They exist so that a request real AWS would
 * refuse (a wrong signature, a body changed after signing) is refused locally too.
 */
export const LOCAL_AWS_CREDENTIALS: Readonly<AwsCredentialIdentity> = Object.freeze({
  accessKeyId: 'AKIDFAIRSENDLOCAL',
  secretAccessKey: 'fairsend-local-stand-in-secret-key',
});

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/i;

export function isLoopbackEndpoint(endpoint: string): boolean {
  return LOOPBACK.test(new URL(endpoint).hostname);
}

/**
 * Client options for an AWS service at `endpoint`: a loopback endpoint is a local stand-in and
 * gets the local credentials; any other (an interface VPC endpoint, a FIPS endpoint) keeps the
 * SDK's default credential chain, as without an endpoint.
 */
export function endpointOptions(endpoint: string | undefined): {
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
} {
  if (!endpoint) return {};
  // A copy: the SDK marks the credentials object it is given (`$source`).
  return isLoopbackEndpoint(endpoint) ? { endpoint, credentials: { ...LOCAL_AWS_CREDENTIALS } } : { endpoint };
}
