import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { CONTACT_COLUMNS, contactFromRow, unknownColumns } from '../shared/contact-row.ts';
import { printable } from '../shared/printable.ts';
import type { ContactStore } from '../shared/stores/contacts.ts';

/**
 * Streams a CSV file into the contacts table, 10 writes at a time, with progress on stderr and
 * every refused row reported by line number. `store` null is a dry run (check only).
 */
export async function importContacts(
  file: string,
  controller: string,
  store: Pick<ContactStore, 'save'> | null,
  out: NodeJS.WritableStream = process.stderr,
): Promise<{ rows: number; saved: number; refused: number }> {
  const summary = { rows: 0, saved: 0, refused: 0 };
  const refusals: string[] = [];
  const started = Date.now();
  const progress = (final = false) =>
    out.write(
      `\r  ${summary.rows} rows: ${summary.saved} ${store ? 'saved' : 'valid'}, ${summary.refused} refused (${Math.round(summary.rows / Math.max(0.001, (Date.now() - started) / 1000))} rows/s)${final ? '\n' : ''}`,
    );
  const parser = createReadStream(file).pipe(
    parse({
      columns: (header: string[]) => header.map((h) => h.trim()),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }),
  );
  const pending = new Set<Promise<void>>();
  let headerChecked = false;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      if (!headerChecked) {
        headerChecked = true;
        const unknown = unknownColumns(Object.keys(record));
        if (unknown.length > 0 || !('address' in record)) {
          out.write(
            `${file}: ${unknown.length > 0 ? `unknown column(s) ${unknown.join(', ')}` : 'no "address" column'}; the columns are ${CONTACT_COLUMNS.join(', ')}\n`,
          );
          summary.refused = 1;
          return summary;
        }
      }
      summary.rows++;
      const line = summary.rows + 1; // the header is line 1
      const result = contactFromRow(controller, record);
      if (!result.ok) {
        summary.refused++;
        refusals.push(`  line ${line}: ${result.reason}`);
      } else if (!store) {
        summary.saved++;
      } else {
        const write = store.save(result.contact).then(
          () => {
            summary.saved++;
          },
          (err: Error) => {
            summary.refused++;
            refusals.push(`  line ${line}: not saved (${err.message}); run the import again: saving is idempotent`);
          },
        );
        pending.add(write);
        write.finally(() => pending.delete(write));
        if (pending.size >= 10) await Promise.race(pending);
      }
      if (summary.rows % 200 === 0) progress();
    }
  } catch (err) {
    out.write(`\n${file}: ${(err as Error).message}\n`);
    summary.refused++;
  }
  await Promise.all(pending);
  progress(true);
  for (const refusal of refusals.slice(0, 50)) out.write(`${printable(refusal)}\n`);
  if (refusals.length > 50) out.write(`  … and ${refusals.length - 50} more\n`);
  return summary;
}
