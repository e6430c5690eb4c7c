import type { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { LANGUAGES, type Language } from './config.ts';
import { calendarDate } from './dates.ts';

/**
 * Per-message data any SMTP tool can pass in headers; they override the contact record and the
 * purpose for this message. Every `X-Fairsend-*` header, known or not, is an instruction to
 * Fairsend and is removed before sending (shared/mime/rewrite.ts asks `isDirectiveHeader`).
 */
const PREFIX = 'x-fairsend-';

export function isDirectiveHeader(name: string): boolean {
  return name.toLowerCase().startsWith(PREFIX);
}

export const DIRECTIVE_HEADERS = {
  purpose: 'X-Fairsend-Purpose',
  reason: 'X-Fairsend-Reason',
  source: 'X-Fairsend-Source',
  sourceDate: 'X-Fairsend-Source-Date',
  language: 'X-Fairsend-Language',
} as const;

export interface Directives {
  purpose?: string;
  reason?: string;
  source?: string;
  sourceDate?: string;
  language?: Language;
}

export type DirectivesResult = { ok: true; directives: Directives } | { ok: false; reason: string };

export function readDirectives(headers: Headers): DirectivesResult {
  const directives: Directives = {};
  for (const [field, name] of Object.entries(DIRECTIVE_HEADERS) as [keyof Directives, string][]) {
    const lines = headers.get(name);
    if (lines.length === 0) continue;
    if (lines.length > 1) return { ok: false, reason: `${name} is given more than once` };
    const value = libmime.decodeWords(headers.getFirst(name)).replace(/\s+/g, ' ').trim();
    if (!value) return { ok: false, reason: `${name} is empty` };
    if (value.length > 500) return { ok: false, reason: `${name} is longer than 500 characters` };
    if (field === 'language' && !(LANGUAGES as readonly string[]).includes(value.toLowerCase())) {
      return { ok: false, reason: `${name} must be one of ${LANGUAGES.join(', ')}` };
    }
    if (field === 'sourceDate' && !calendarDate.safeParse(value).success) {
      return { ok: false, reason: `${name} must be a real date as YYYY-MM-DD` };
    }
    (directives as Record<string, string>)[field] = field === 'language' ? value.toLowerCase() : value;
  }
  return { ok: true, directives };
}
