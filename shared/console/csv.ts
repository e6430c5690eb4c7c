/**
 * One CSV line (RFC 4180, CRLF), for exports opened in a spreadsheet. A field that a spreadsheet
 * would run as a formula (`=`, `+`, `-`, `@`, tab or CR first: CSV injection, as OWASP describes
 * it) is prefixed with `'`; the console's imports take that prefix off again, so an exported
 * `@domain` opposition imports back as itself.
 */
export function csvLine(fields: string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n;]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A field as a person or an export wrote it: the anti-formula prefix taken off. */
export function unguarded(value: string): string {
  return value.replace(/^'(?=[=+\-@\t\r])/, '');
}
