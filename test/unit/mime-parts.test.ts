import { describe, expect, it } from 'vitest';
import { declareUtf8, insertHtmlFooter } from '../../shared/mime/html-footer.ts';
import { decodeCharset, decodeTransfer, encodeText, knownCharset } from '../../shared/mime/text-codec.ts';

describe('footer placement in HTML', () => {
  it('goes inside the body, before </body>, at the layout width', () => {
    const html = '<html><body><table width="600"><tr><td>Bonjour</td></tr></table></body></html>';
    const out = insertHtmlFooter(html, '<p>FOOTER</p>');
    expect(out.indexOf('FOOTER')).toBeGreaterThan(out.indexOf('Bonjour'));
    expect(out.indexOf('FOOTER')).toBeLessThan(out.indexOf('</body>'));
    expect(out).toMatch(/600/);
  });

  it('lines up with the layout: left under a left-aligned 600 px table, centred under a centred one', () => {
    const left = insertHtmlFooter('<html><body><table width="600"><tr><td>Hi</td></tr></table></body></html>', 'F');
    expect(left).toMatch(/<table role="presentation" align="left"[^>]*max-width:600px !important;margin:0;/);
    const centred = insertHtmlFooter(
      '<html><body><table width="600" align="center"><tr><td>Hi</td></tr></table></body></html>',
      'F',
    );
    expect(centred).toMatch(/<table role="presentation" align="center"[^>]*max-width:600px !important;margin:0 auto;/);
  });

  it('goes at the end of a fragment', () => {
    expect(insertHtmlFooter('<p>Hi</p>', '<p>FOOTER</p>')).toMatch(/^<p>Hi<\/p>[\s\S]*FOOTER[\s\S]*$/);
  });

  it('makes a meta charset agree with the UTF-8 re-encoding', () => {
    expect(declareUtf8('<meta charset="windows-1252"><p>x</p>')).toMatch(/charset="?utf-8/i);
  });
});

describe('text codecs', () => {
  it('decodes quoted-printable and base64, and charsets iconv knows', () => {
    expect(decodeTransfer(Buffer.from('Caf=E9=\r\n!'), 'quoted-printable').toString('latin1')).toBe('Café!');
    expect(decodeTransfer(Buffer.from('Q2Fmw6k='), 'base64').toString('utf8')).toBe('Café');
    expect(decodeCharset(Buffer.from([0x43, 0x61, 0x66, 0xe9]), 'iso-8859-1')).toBe('Café');
    expect(knownCharset('windows-1252')).toBe(true);
    expect(knownCharset('x-no-such-charset')).toBe(false);
  });

  it('encodes back so that decoding gives the same text, with no line over 76 characters', () => {
    const text = `Grüße ${'é'.repeat(200)}\r\nfin`;
    for (const encoding of ['quoted-printable', 'base64'] as const) {
      const encoded = encodeText(text, encoding);
      expect(
        encoded
          .toString('latin1')
          .split('\r\n')
          .every((line) => line.length <= 76),
      ).toBe(true);
      expect(decodeCharset(decodeTransfer(encoded, encoding), 'utf-8')).toBe(text);
    }
  });
});
