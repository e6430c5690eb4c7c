import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * The server side of AWS Signature Version 4, as AWS computes it when a request arrives: the
 * canonical request is rebuilt from what was received (method, path, query, the signed headers'
 * values, the hash of the body actually received), signed with the secret key of the access key
 * named in the credential scope, and compared with the signature sent. Written independently of
 * the SDK's signer on purpose: a stand-in that verified with the client's own code would accept
 * whatever mistake the client made. Checked against AWS's published SigV4 test suite.
 */
export interface ReceivedRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  /** `IncomingMessage.rawHeaders`: names and values alternating, repeats kept. */
  rawHeaders: string[];
  body: Buffer;
}

export interface VerifierOptions {
  /** Access key id → credentials this endpoint accepts. */
  credentials: AwsCredentialIdentity[];
  region: string;
  service: string;
  /** AWS refuses a request signed more than 5 minutes before or after its own clock. */
  maxSkewMs?: number;
  now?: () => Date;
}

export type VerifyFailure =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'UnrecognizedClient'
  | 'SignatureDoesNotMatch'
  | 'RequestExpired';

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; failure: VerifyFailure; message: string };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

export class SigV4Verifier {
  private readonly keys: Map<string, AwsCredentialIdentity>;

  constructor(private readonly options: VerifierOptions) {
    this.keys = new Map(options.credentials.map((c) => [c.accessKeyId, c]));
  }

  verify(request: ReceivedRequest): VerifyResult {
    const headers = headerValues(request.rawHeaders);
    const authorization = headers.get('authorization');
    if (!authorization) {
      return fail('MissingAuthenticationToken', 'Request is missing Authentication Token');
    }
    const match = authorization.match(AUTHORIZATION);
    if (!match) {
      return fail(
        'IncompleteSignature',
        `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' for AWS4-HMAC-SHA256: ${authorization.slice(0, 80)}`,
      );
    }
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as string[];
    const credentials = this.keys.get(accessKeyId!);
    if (!credentials) return fail('UnrecognizedClient', 'The security token included in the request is invalid.');
    if (region !== this.options.region || service !== this.options.service) {
      return fail(
        'SignatureDoesNotMatch',
        `Credential should be scoped to a valid region and service: expected ${this.options.region}/${this.options.service}, got ${region}/${service}.`,
      );
    }
    const signedHeaders = signedHeaderList!.split(';');
    if (!signedHeaders.includes('host')) {
      return fail('SignatureDoesNotMatch', "'Host' must be a signed header.");
    }
    const amzDate = headers.get('x-amz-date');
    if (!amzDate || !signedHeaders.includes('x-amz-date') || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
      return fail('IncompleteSignature', 'X-Amz-Date must be present, signed and in the form YYYYMMDDTHHMMSSZ.');
    }
    if (amzDate.slice(0, 8) !== scopeDate) {
      return fail('SignatureDoesNotMatch', `Credential scope date ${scopeDate} does not match X-Amz-Date ${amzDate}.`);
    }
    const signedAt = Date.parse(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const skew = this.options.maxSkewMs ?? 5 * 60_000;
    if (Number.isNaN(signedAt) || Math.abs(now - signedAt) > skew) {
      return fail(
        'RequestExpired',
        `Signature expired: ${amzDate} is more than ${skew / 1000} s from the server's time.`,
      );
    }

    const payloadHash = sha256Hex(request.body);
    const declared = headers.get('x-amz-content-sha256');
    if (declared !== undefined && declared !== payloadHash) {
      return fail(
        'SignatureDoesNotMatch',
        'The provided x-amz-content-sha256 header does not match the body received.',
      );
    }
    const { path, query } = splitTarget(request.url);
    const missing = signedHeaders.find((name) => !headers.has(name));
    if (missing) return fail('SignatureDoesNotMatch', `Signed header ${missing} is missing from the request.`);
    const canonicalRequest = [
      request.method.toUpperCase(),
      canonicalPath(path),
      canonicalQuery(query),
      ...signedHeaders.map((name) => `${name}:${headers.get(name)}`),
      '',
      signedHeaderList,
      payloadHash,
    ].join('\n');
    const scope = `${scopeDate}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    let key = hmac(`AWS4${credentials.secretAccessKey}`, scopeDate!);
    for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
      return fail(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    return { ok: true, accessKeyId: accessKeyId! };
  }
}

function fail(failure: VerifyFailure, message: string): VerifyResult {
  return { ok: false, failure, message };
}

/** Lower-cased names; values trimmed with inner runs of spaces folded; repeats joined by commas (SigV4 §canonical headers). */
function headerValues(rawHeaders: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    values.set(name, values.has(name) ? `${values.get(name)},${value}` : value);
  }
  return values;
}

function splitTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/** RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Services other than S3 encode each segment of the path as received once more. */
function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, '%20'));
  return query
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
