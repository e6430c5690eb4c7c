import { domainToASCII } from 'node:url';

/**
 * Address normalisation for the opposition list and contacts. The local part is NFC-normalised
 * and lower-cased (case-insensitive in practice at every provider we target); the domain is converted to its
 * IDNA ASCII form (RFC 5891), so `bob@bücher.example` and `bob@xn--bcher-kva.example` are one
 * entry. Returns null for anything that is not a single plausible mailbox.
 */
export interface NormalisedAddress {
  address: string;
  local: string;
  domain: string;
}

const LOCAL_PART = /^[^\s@<>()[\]\\,;:"]{1,64}$/u;

export function normaliseAddress(input: string): NormalisedAddress | null {
  const trimmed = input.trim().replace(/^<(.*)>$/, '$1');
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return null;
  // NFC: "é" typed as one code point or as e + combining accent is one mailbox (RFC 6532 §3.1).
  const local = trimmed.slice(0, at).normalize('NFC').toLowerCase();
  const domain = normaliseDomain(trimmed.slice(at + 1));
  if (!domain || !LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.')) return null;
  if (local.includes('..')) return null;
  return { address: `${local}@${domain}`, local, domain };
}

export function normaliseDomain(input: string): string | null {
  const raw = input.trim().replace(/\.$/, '');
  if (!raw || raw.length > 253) return null;
  const ascii = domainToASCII(raw.toLowerCase());
  if (!ascii?.includes('.')) return null;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(ascii)) return null;
  if (ascii.split('.').some((label) => label.length > 63 || label.startsWith('-') || label.endsWith('-'))) return null;
  return ascii;
}

/**
 * A sender pattern from the config: either a whole address (`alice@acme.example`) or a domain
 * (`acme.example`, which allows every address at that domain, not its subdomains). The one place
 * that says "a domain covers its addresses", for an address and for a narrower pattern.
 */
export function matchesSenderPattern(address: NormalisedAddress, pattern: string): boolean {
  if (pattern.includes('@')) return normaliseAddress(pattern)?.address === address.address;
  return normaliseDomain(pattern) === address.domain;
}

/** Is `pattern` (an address or a domain) within `allowed` (an address or a domain)? */
export function patternWithin(pattern: string, allowed: string): boolean {
  if (pattern.includes('@')) {
    const address = normaliseAddress(pattern);
    return address !== null && matchesSenderPattern(address, allowed);
  }
  return !allowed.includes('@') && normaliseDomain(pattern) === normaliseDomain(allowed);
}

/**
 * The person behind an address, for access and erasure: the address without its `+tag`
 * (`carol+news@x` and `carol@x` are one mailbox at most providers).
 */
export function baseAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const plus = address.indexOf('+');
  return plus > 0 && plus < at ? `${address.slice(0, plus)}${address.slice(at)}` : address;
}

/** The key of the `byPerson` indexes: `<controller>#<base address>`. */
export function personKey(controller: string, address: string): string {
  return `${controller}#${baseAddress(address)}`;
}
