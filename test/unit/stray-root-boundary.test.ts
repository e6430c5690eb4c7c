import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parsedWithoutStrayRootBoundary,
  plainlyMultipart,
  withoutStrayRootBoundary,
} from '../../shared/mime/rewrite.ts';

/**
 * A root Content-Type that is not multipart but names a boundary loses that parameter before the
 * split. Most messages are plainly multipart, which `plainlyMultipart` reads from the raw header
 * block without parsing it: whenever it says so, the full parse must agree that nothing is to be
 * stripped.
 */
const contentType = fc
  .tuple(
    fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE', 'Content-Type ', 'Content-Type\t', 'Content-Typo'),
    fc.constantFrom(':', ': ', ':\t', ':  ', ':\r\n '),
    fc.constantFrom(
      'multipart/mixed; boundary="b"',
      'Multipart/Alternative; boundary=b',
      'multipart/',
      'text/html; charset="utf-8"; boundary="----=_NextPart_000"',
      'text/plain; boundary=b',
      '(comment) multipart/mixed; boundary=b',
      'text/html;\r\n boundary="b"',
      '=?utf-8?q?multipart?=/mixed; boundary=b',
      'multipart/mixed;\r\n\tboundary="b"',
      'text/html',
      '',
    ),
  )
  .map(([name, colon, value]) => `${name}${colon}${value}`);
const other = fc.constantFrom(
  'From: Alice <alice@acme.example>',
  'Subject: the content-type: multipart/mixed of it',
  'X-Note: a\r\n Content-Type: multipart/mixed',
  'MIME-Version: 1.0',
  'X-Bare: one\nContent-Type: text/html; boundary=x',
);
const head = fc
  .array(fc.oneof(contentType, other), { minLength: 1, maxLength: 6 })
  .map((fields) => `${fields.join('\r\n')}\r\n\r\n`);

describe('a stray boundary on a root that is not multipart', () => {
  it('is left to the full parse unless the header block is plainly multipart, where the parse strips nothing', () => {
    let plainly = 0;
    fc.assert(
      fc.property(head, (text) => {
        const raw = Buffer.from(`${text}<p>body</p>\r\n`, 'latin1');
        const headerEnd = text.length;
        const parsed = parsedWithoutStrayRootBoundary(raw, headerEnd);
        if (plainlyMultipart(text)) {
          plainly++;
          expect(parsed).toBe(raw);
        }
        expect(withoutStrayRootBoundary(raw).equals(parsed)).toBe(true);
      }),
      { numRuns: 3000, seed: 20261129 },
    );
    expect(plainly).toBeGreaterThan(100);
  });

  it('is dropped from a text/html root, and a multipart root keeps its boundary', () => {
    const html = Buffer.from('Content-Type: text/html; boundary="b"\r\n\r\n<p>x</p>', 'latin1');
    expect(withoutStrayRootBoundary(html).toString('latin1')).toBe('Content-Type: text/html\r\n\r\n<p>x</p>');
    const mixed = Buffer.from(
      'From: a@acme.example\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b--\r\n',
      'latin1',
    );
    expect(withoutStrayRootBoundary(mixed)).toBe(mixed);
  });
});
