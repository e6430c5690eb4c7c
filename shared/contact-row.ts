import { z } from 'zod';
import { normaliseAddress } from './address.ts';
import { LANGUAGES } from './config.ts';
import { calendarDate } from './dates.ts';
import type { ContactDetails } from './stores/contacts.ts';

/**
 * One row of a contacts CSV file (`npm run fairsend -- contacts import`), checked the way the rest
 * of the core checks input: a clear reason for every refused row, naming the column.
 */
export const CONTACT_COLUMNS = [
  'address',
  'source',
  'obtainedAt',
  'profession',
  'company',
  'professional',
  'language',
  'reason',
  'consentAt',
  'consentHow',
] as const;

const optional = (max: number) =>
  z
    .string()
    .max(max, `longer than ${max} characters`)
    .transform((v) => v.trim() || undefined);

const rowSchema = z
  .object({
    address: z.string(),
    source: optional(500),
    obtainedAt: optional(10).pipe(calendarDate.optional()),
    profession: optional(200),
    company: optional(200),
    professional: optional(5).refine(
      (v) => v === undefined || /^(yes|no|true|false|1|0)$/i.test(v),
      'must be yes or no',
    ),
    language: optional(2).refine(
      (v) => v === undefined || (LANGUAGES as readonly string[]).includes(v),
      `must be one of ${LANGUAGES.join(', ')}`,
    ),
    reason: optional(500),
    consentAt: optional(40).refine((v) => v === undefined || !Number.isNaN(Date.parse(v)), 'must be a date'),
    consentHow: optional(300),
  })
  .partial({
    source: true,
    obtainedAt: true,
    profession: true,
    company: true,
    professional: true,
    language: true,
    reason: true,
    consentAt: true,
    consentHow: true,
  })
  .refine((r) => Boolean(r.consentAt) === Boolean(r.consentHow), {
    message: 'give both consentAt and consentHow, or neither',
    path: ['consentHow'],
  });

/** Columns the file has that this importer does not know (a typo must not silently drop data). */
export function unknownColumns(header: string[]): string[] {
  return header.filter((c) => !(CONTACT_COLUMNS as readonly string[]).includes(c));
}

export function contactFromRow(
  controller: string,
  row: Record<string, string>,
): { ok: true; contact: ContactDetails } | { ok: false; reason: string } {
  const parsed = rowSchema.safeParse(row);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || 'row'}: ${issue.message}` };
  }
  const r = parsed.data;
  const address = normaliseAddress(r.address);
  if (!address) return { ok: false, reason: `address: "${r.address}" is not a valid address` };
  return {
    ok: true,
    contact: {
      controller,
      address: address.address,
      source: r.source,
      obtainedAt: r.obtainedAt,
      profession: r.profession,
      company: r.company,
      professional: r.professional === undefined ? undefined : /^(yes|true|1)$/i.test(r.professional),
      language: r.language as ContactDetails['language'],
      reason: r.reason,
      consent: r.consentAt && r.consentHow ? { at: new Date(r.consentAt).toISOString(), how: r.consentHow } : undefined,
    },
  };
}
