import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { pooledRandomBytes } from './random-pool.ts';

/**
 * Unsubscribe tokens: AES-256-GCM over a small JSON payload, so a token is unforgeable (the GCM
 * tag), does not reveal the address (encrypted), and carries what the unsubscribe endpoint needs
 * without a lookup: the controller, the recipient and the copy it came from. Format:
 * `<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>`. Keys rotate: new tokens use the active key, and
 * every key still listed is accepted, so links in old mail keep working.
 */
export interface TokenKeys {
  activeKeyId: string;
  keys: Record<string, string>;
  maxAgeDays: number;
}

export const tokenPayloadSchema = z.object({
  /** controller id */
  c: z.string().min(1),
  /** recipient (normalised address) */
  r: z.string().min(3),
  /** copy id (send log) */
  m: z.string().min(1),
  /** issued at, seconds since the epoch */
  i: z.number().int().positive(),
  /** language of the footer, for the unsubscribe page */
  l: z.enum(['fr', 'en', 'de']).optional(),
});
export type TokenPayload = z.infer<typeof tokenPayloadSchema>;

export interface UnsubscribeRequest {
  controller: string;
  recipient: string;
  copyId: string;
  issuedAt: Date;
  language?: 'fr' | 'en' | 'de';
}

export type TokenCheck = { ok: true; request: UnsubscribeRequest; keyId: string } | { ok: false; reason: string };

/** A token as it appears in a link, a subject or an address: `<keyId>.<base64url>`. */
export const TOKEN_PATTERN = /[a-z0-9]{1,16}\.[A-Za-z0-9_-]{40,2000}/;
const WHOLE_TOKEN = new RegExp(`^${TOKEN_PATTERN.source}$`);

const IV_BYTES = 12;
const TAG_BYTES = 16;
const derived = new Map<string, Buffer>();

/** A 256-bit key derived from the configured secret (any length ≥ 32 characters). */
function keyFor(secret: string): Buffer {
  let key = derived.get(secret);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'fairsend', 'unsubscribe-token v1', 32));
    derived.set(secret, key);
  }
  return key;
}

export function issueToken(keys: TokenKeys, request: Omit<UnsubscribeRequest, 'issuedAt'>, now = new Date()): string {
  const secret = keys.keys[keys.activeKeyId];
  if (!secret) throw new Error(`token key "${keys.activeKeyId}" is not configured`);
  const payload: TokenPayload = {
    c: request.controller,
    r: request.recipient,
    m: request.copyId,
    i: Math.floor(now.getTime() / 1000),
    ...(request.language ? { l: request.language } : {}),
  };
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret), iv);
  cipher.setAAD(Buffer.from(keys.activeKeyId));
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return `${keys.activeKeyId}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

export function verifyToken(keys: TokenKeys, token: string, now = new Date()): TokenCheck {
  if (!WHOLE_TOKEN.test(token)) return { ok: false, reason: 'malformed token' };
  const dot = token.indexOf('.');
  const keyId = token.slice(0, dot);
  const data = token.slice(dot + 1);
  const secret = Object.hasOwn(keys.keys, keyId) ? keys.keys[keyId] : undefined;
  if (!secret) return { ok: false, reason: 'unknown or retired key' };
  const bytes = Buffer.from(data, 'base64url');
  if (bytes.length < IV_BYTES + TAG_BYTES + 10) return { ok: false, reason: 'truncated token' };
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(secret), bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return { ok: false, reason: 'token does not verify' };
  }
  let payload: TokenPayload;
  try {
    payload = tokenPayloadSchema.parse(JSON.parse(plain));
  } catch {
    return { ok: false, reason: 'token payload is invalid' };
  }
  const issuedAt = new Date(payload.i * 1000);
  if (now.getTime() - issuedAt.getTime() > keys.maxAgeDays * 86_400_000) return { ok: false, reason: 'token expired' };
  const request: UnsubscribeRequest = { controller: payload.c, recipient: payload.r, copyId: payload.m, issuedAt };
  if (payload.l) request.language = payload.l;
  return { ok: true, keyId, request };
}
