import { expect } from 'vitest';

/**
 * QP as RFC 2045 6.7 has it and as Fairsend writes it: printable ASCII and CRLF line ends only,
 * lines of 76 characters at most, no space or tab ending a line, no line starting with a hyphen
 * (it could read as a MIME boundary), and every `=` an escape's or a soft break's.
 */
export function expectWellFormedQp(qp: string, context: string): void {
  expect(/^[\x21-\x7e \t\r\n]*$/.test(qp), context).toBe(true);
  expect(/\r(?!\n)|(?<!\r)\n/.test(qp), context).toBe(false);
  for (const line of qp.split('\r\n')) {
    expect(line.length, `${context}: ${line}`).toBeLessThanOrEqual(76);
    expect(/[ \t]$/.test(line), `${context}: trailing whitespace in ${JSON.stringify(line)}`).toBe(false);
    expect(line.startsWith('-'), `${context}: ${line}`).toBe(false);
    // A soft break never cuts an escape: every = is followed by two hex digits, or ends the line.
    expect(/=(?![0-9A-F]{2}|$)/.test(line), `${context}: ${line}`).toBe(false);
  }
}
