import { closeSync, createReadStream, openSync, readSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { normaliseAddress } from './address.ts';
import { CONTACT_COLUMNS, contactFromRow, unknownColumns } from './contact-row.ts';
import { printable } from './printable.ts';
import type { ContactDetails, ContactStore } from './stores/contacts.ts';

/**
 * The separator of a CSV file from its header line: `,`, or `;` (French Excel), or a tab,
 * whichever the header has most of outside quotes.
 */
export function detectDelimiter(file: string): string {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(64 * 1024);
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  return delimiterOf(buffer.subarray(0, n).toString('utf8'));
}

/** The separator from the text's header line. */
export function delimiterOf(text: string): string {
  const header = text.split(/\r?\n/)[0]!.replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t'].map((d) => ({ d, n: header.split(d).length - 1 }));
  return counts.sort((a, b) => b.n - a.n)[0]!.n > 0 ? counts[0]!.d : ',';
}

/** A CSV field as written back in a rejects file. */
function csvField(value: string): string {
  return /[",\r\n;]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Streams a CSV file into the contacts table, 10 writes at a time, with progress on stderr and
 * every refused row reported by line number: on screen, or, past 50 or when `rejects` names a
 * file, in a rejects file (the row as given plus a `reason` column). A row repeating an address
 * seen earlier in the file is refused as a duplicate (the first one wins); blank lines are
 * skipped; rows = saved + refused. `store` null is a dry run (check only).
 */
export async function importContacts(
  file: string,
  controller: string,
  store: Pick<ContactStore, 'save'> | null,
  out: NodeJS.WritableStream = process.stderr,
  options: {
    rejects?: string;
    text?: string;
    refusedRows?: { line: number; reason: string }[];
    /** A reason to refuse a valid row (an erased person), or null; checked before it is saved. */
    check?: (contact: ContactDetails) => Promise<string | null>;
  } = {},
): Promise<{ rows: number; saved: number; refused: number }> {
  const summary = { rows: 0, saved: 0, refused: 0 };
  const refusals: string[] = [];
  const rejectedRows: string[] = [];
  const seen = new Map<string, number>();
  let columns: string[] = [];
  const started = Date.now();
  const progress = (final = false) =>
    out.write(
      `\r  ${summary.rows} rows: ${summary.saved} ${store ? 'saved' : 'valid'}, ${summary.refused} refused (${Math.round(summary.rows / Math.max(0.001, (Date.now() - started) / 1000))} rows/s)${final ? '\n' : ''}`,
    );
  // The console hands the uploaded text; the CLI a file name.
  const input = options.text !== undefined ? Readable.from([options.text]) : createReadStream(file);
  const parser = input.pipe(
    parse({
      columns: (header: string[]) => {
        columns = header.map((h) => h.trim());
        return columns;
      },
      delimiter: options.text !== undefined ? delimiterOf(options.text) : detectDelimiter(file),
      bom: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      // A row with too few or too many fields is refused on its own line, not the whole file.
      relax_column_count: true,
      info: true,
    }),
  );
  const pending = new Set<Promise<void>>();
  let headerChecked = false;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const record = item.record;
      if (!headerChecked) {
        headerChecked = true;
        const unknown = unknownColumns(Object.keys(record));
        if (unknown.length > 0 || !('address' in record)) {
          out.write(
            `${file}: ${unknown.length > 0 ? `unknown column(s) ${unknown.join(', ')}` : 'no "address" column'}; the columns are ${CONTACT_COLUMNS.join(', ')}\n`,
          );
          summary.refused = 1;
          options.refusedRows?.push({
            line: 1,
            reason: unknown.length > 0 ? `unknown column(s) ${unknown.join(', ')}` : 'no "address" column',
          });
          return summary;
        }
      }
      summary.rows++;
      const line = item.info.lines;
      const refuse = (reason: string) => {
        summary.refused++;
        refusals.push(`  line ${line}: ${reason}`);
        options.refusedRows?.push({ line, reason });
        rejectedRows.push([...columns.map((c) => csvField(record[c] ?? '')), csvField(reason)].join(','));
      };
      const address = normaliseAddress(record.address ?? '')?.address;
      const first = address ? seen.get(address) : undefined;
      if (Object.keys(record).length !== columns.length) {
        refuse(`${Object.keys(record).length} fields where the header has ${columns.length}`);
        continue;
      }
      if (first !== undefined) {
        refuse(`address: ${address} is already on line ${first} of this file`);
        continue;
      }
      if (address) seen.set(address, line);
      const result = contactFromRow(controller, record);
      if (!result.ok) {
        refuse(result.reason);
      } else if (!store && !options.check) {
        summary.saved++;
      } else {
        const contact = result.contact;
        const write = (options.check ? options.check(contact) : Promise.resolve(null))
          .then(async (refusal) => {
            if (refusal) return refuse(refusal);
            if (store) await store.save(contact);
            summary.saved++;
          })
          .catch((err: Error) => refuse(`not saved (${err.message}); run the import again: saving is idempotent`));
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
  const rejectsFile = options.rejects ?? (refusals.length > 50 ? `${file}.rejects.csv` : undefined);
  for (const refusal of refusals.slice(0, 50)) out.write(`${printable(refusal)}\n`);
  if (rejectsFile && rejectedRows.length > 0) {
    writeFileSync(rejectsFile, `\uFEFF${[[...columns, 'reason'].join(','), ...rejectedRows].join('\r\n')}\r\n`);
    out.write(
      `  ${refusals.length > 50 ? `… and ${refusals.length - 50} more: ` : ''}every refused row, with its reason, is in ${rejectsFile}\n`,
    );
  }
  return summary;
}
