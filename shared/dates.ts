import { z } from 'zod';
import type { Language } from './config.ts';

/** A real calendar date as YYYY-MM-DD (2026-02-30 is refused), wherever one comes in. */
export const calendarDate = z.iso.date({ error: 'must be a real date as YYYY-MM-DD' });

const LOCALES: Record<Language, string> = { fr: 'fr-FR', en: 'en-GB', de: 'de-DE' };

/** "14 mars 2026", "14 March 2026", "14. März 2026": the date as the recipient writes it. */
export function formatDate(isoDate: string, lang: Language): string {
  const date = new Date(`${isoDate.slice(0, 10)}T12:00:00Z`);
  if (Number.isNaN(date.getTime())) return isoDate;
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeZone: 'UTC' }).format(date);
}
