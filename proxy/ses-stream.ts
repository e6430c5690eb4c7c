import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type AwsConnections, awsErrorType, postToAws } from '../shared/aws/http.ts';
import type { RequestSigner } from '../shared/aws/sigv4.ts';

/**
 * SESv2 `SendEmail` with the raw message streamed, for every copy by default
 * (`ses.streamAboveBytes` 0). The SDK builds the request body in memory (the copy, its base64
 * string and the JSON around it, about 3.5 times a 25 MB message per copy in flight) and spends
 * about twice the CPU. Here a copy over `ONE_WRITE_BYTES` has its body generated twice from its
 * parts (the template's shared Buffers): once to hash it for SigV4, once to send it in slices. A
 * smaller copy (most mail) has its body built once, into one Buffer, and sent with the headers in
 * one write. Errors carry the same `name` and `$metadata.httpStatusCode` as the SDK's, so the
 * caller classifies them alike.
 */
export interface StreamedSend {
  endpoint: string;
  /** One signer per sender (`createSigner`, service `ses`). */
  signer: RequestSigner;
  parts: Buffer[];
  from: string;
  recipient: string;
  configurationSet?: string;
  tags: { Name: string; Value: string }[];
}

export interface PostOptions {
  /** Keep-alive connections to SES, shared by every copy. */
  connections: AwsConnections;
  timeoutMs: number;
}

export const STREAMED_USER_AGENT = 'fairsend-streamed-sendemail';

class SesHttpError extends Error {
  readonly $metadata: { httpStatusCode?: number };
  constructor(name: string, message: string, status: number | undefined) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * 24 KB of the copy a chunk: its base64 (32 KB) stays under V8's large-object size (128 KB), so it
 * is young-generation garbage reclaimed by the next scavenge. 192 KB slices made 256 KB strings,
 * large objects that only a full GC frees: a 25 MB copy left 33 MB of them per pass.
 */
const SLICE = 3 * 8 * 1024;

/**
 * Copies up to this size are sent as one Buffer with the request's headers: one write to the
 * socket, the base64 computed once. Streamed in slices, a 20 KB copy took a writev of its
 * slices and cost ~8 % of the relay's CPU in the profile (the performance issue); built whole,
 * a 1 MB copy is a 1.4 MB Buffer from when it is prepared until it is sent.
 */
export const ONE_WRITE_BYTES = 1024 * 1024;

/**
 * Bytes of a large body hashed or sent before the other sessions get a turn
 * (`bodyChunksInTurns`).
 */
export const TURN_BYTES = 1024 * 1024;

/** The size of a copy given as parts. */
export function partsLength(parts: Buffer[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

/** JSON with every non-ASCII character escaped (`\u00e9`): the body is ASCII, its length its byte count. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The JSON body as ASCII strings: the base64 of the parts, cut on 3-byte boundaries, between the
 * prefix and the suffix. Strings, not Buffers: short-lived heap garbage that V8's young
 * generation reclaims at once, where Buffers would pile up as external memory.
 */
function* bodyChunks(prefix: string, parts: Buffer[], suffix: string): Generator<string> {
  yield prefix;
  let carry = Buffer.alloc(0);
  for (const part of parts) {
    for (let offset = 0; offset < part.length; offset += SLICE) {
      const slice = part.subarray(offset, offset + SLICE);
      const data = carry.length > 0 ? Buffer.concat([carry, slice]) : slice;
      const whole = data.length - (data.length % 3);
      if (whole > 0) yield data.subarray(0, whole).toString('base64');
      carry = Buffer.from(data.subarray(whole));
    }
  }
  if (carry.length > 0) yield carry.toString('base64');
  yield suffix;
}

/**
 * `bodyChunks`, with a turn of the event loop (a `setImmediate`) after every `TURN_BYTES`: a large
 * copy's body is hashed, then sent, in stretches that leave the other sessions their turns. In one
 * go, hashing a 38 MB copy's body held the relay's event loop, every session on it, for about
 * 140 ms, and sending it wrote for as long as the socket took it.
 */
async function* bodyChunksInTurns(prefix: string, parts: Buffer[], suffix: string): AsyncGenerator<string> {
  let since = 0;
  for (const chunk of bodyChunks(prefix, parts, suffix)) {
    yield chunk;
    since += chunk.length;
    if (since >= TURN_BYTES) {
      since = 0;
      await nextTurn();
    }
  }
}

/**
 * A SendEmail request ready to go: its body (whole, or the parts to stream it from) and its signed
 * headers. Made ahead of time for the copies rendered while the end of DATA's read is in flight
 * (`SesV2Sender.prepare`), so that the reply waits for the SES round trip only, not for building
 * and signing ten requests after the read. A signature stays valid for five minutes (SigV4's
 * allowed clock skew); a request signed longer ago than `SIGNED_REQUEST_TTL_MS` is signed again.
 */
export interface SignedSendEmail {
  url: URL;
  headers: Record<string, string>;
  /** The body as one Buffer (copies up to ONE_WRITE_BYTES), or what it is generated from. */
  body: { whole: Buffer } | { prefix: string; parts: Buffer[]; suffix: string };
  /** `Date.now()` when it was signed. */
  signedAt: number;
}

export const SIGNED_REQUEST_TTL_MS = 60_000;

/** SendEmail's URL by endpoint (the configured one, a stand-in's): parsed once, not per copy. */
const sendEmailUrls = new Map<string, URL>();
function sendEmailUrl(endpoint: string): URL {
  let url = sendEmailUrls.get(endpoint);
  if (!url) {
    url = new URL('/v2/email/outbound-emails', endpoint);
    sendEmailUrls.set(endpoint, url);
  }
  return url;
}

/** Builds (or, above ONE_WRITE_BYTES, hashes) the body of the SendEmail request for a copy, and signs it. */
export async function signSendEmail(input: StreamedSend): Promise<SignedSendEmail> {
  const url = sendEmailUrl(input.endpoint);
  const prefix = '{"Content":{"Raw":{"Data":"';
  const suffix = `"}},${asciiJson({
    Destination: { ToAddresses: [input.recipient] },
    FromEmailAddress: input.from,
    ...(input.configurationSet ? { ConfigurationSetName: input.configurationSet } : {}),
    EmailTags: input.tags,
  }).slice(1)}`;
  const rawLength = partsLength(input.parts);
  const length = prefix.length + Math.ceil(rawLength / 3) * 4 + suffix.length;

  let body: SignedSendEmail['body'];
  const hash = createHash('sha256');
  if (rawLength <= ONE_WRITE_BYTES) {
    const raw = input.parts.length === 1 ? input.parts[0]! : Buffer.concat(input.parts, rawLength);
    // A Buffer, not a string: held from when it is prepared until it is sent, a 27 KB string
    // outlives young-generation collections (copied, then promoted); a Buffer's bytes are not
    // the collector's to move, and go to the socket as they are.
    const whole = Buffer.allocUnsafe(length);
    let at = whole.write(prefix, 0, 'latin1');
    at += whole.write(raw.toString('base64'), at, 'latin1');
    at += whole.write(suffix, at, 'latin1');
    if (at !== length) throw new Error(`SendEmail body is ${at} bytes, not the ${length} declared`);
    hash.update(whole);
    body = { whole };
  } else {
    for await (const chunk of bodyChunksInTurns(prefix, input.parts, suffix)) hash.update(chunk, 'latin1');
    body = { prefix, parts: input.parts, suffix };
  }

  const signedAt = Date.now();
  const { headers } = await input.signer.sign({
    method: 'POST',
    hostname: url.hostname,
    path: url.pathname,
    headers: {
      host: url.host,
      'content-type': 'application/json',
      'content-length': String(length),
      'x-amz-content-sha256': hash.digest('hex'),
    },
  });
  // Not signed (SigV4 never signs user-agent): says in SES's and the stand-in's logs which path sent it.
  headers['user-agent'] = STREAMED_USER_AGENT;
  return { url, headers, body, signedAt };
}

/** Sends a signed SendEmail request; resolves to SES's message id. */
export async function postSendEmail(signed: SignedSendEmail, options: PostOptions): Promise<string> {
  const { body } = signed;
  const answer = await postToAws(signed.url, {
    headers: signed.headers,
    connections: options.connections,
    timeoutMs: options.timeoutMs,
    timeoutError: () => new SesHttpError('TimeoutError', `no answer in ${options.timeoutMs} ms`, undefined),
    body: 'whole' in body ? body.whole : bodyChunksInTurns(body.prefix, body.parts, body.suffix),
  });
  let parsed: { MessageId?: string; message?: string; Message?: string; __type?: string } = {};
  try {
    parsed = JSON.parse(answer.text || '{}');
  } catch {
    // not JSON: keep the status
  }
  if (answer.status === 200 && parsed.MessageId) return parsed.MessageId;
  const type = awsErrorType(answer.headers, parsed, answer.status);
  throw new SesHttpError(type, parsed.message ?? parsed.Message ?? answer.text.slice(0, 300), answer.status);
}
