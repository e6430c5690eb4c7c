import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildTemplate, renderCopy } from '../../shared/mime/rewrite.ts';

/** Classes of real mail that went wrong: each shape, and what a reader of the copy must see. */
const FOOTER = { text: 'FOOTER-TEXT https://u.example/u/T', html: '<p>FOOTER-HTML</p>' };
const crlf = (text: string) => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');

async function copyOf(text: string | Buffer) {
  const built = await buildTemplate(typeof text === 'string' ? crlf(text) : text, { hostname: 'relay.example' });
  if (!built.ok) return { built, raw: Buffer.alloc(0), parsed: undefined };
  const raw = renderCopy(built.template, FOOTER, 'List-Unsubscribe: <https://u.example/u/T>\r\n');
  return { built, raw, parsed: await simpleParser(raw) };
}

const head = 'From: alice@acme.example\nTo: bob@client.example\nSubject: shape\nMessage-ID: <s@acme.example>\n';

describe('MIME shapes from real mail', () => {
  it('multipart/digest: untyped parts are messages (RFC 2046 §5.1.5); the real text part gets the footer', async () => {
    const { raw, parsed } = await copyOf(`${head}MIME-Version: 1.0
Content-Type: multipart/digest; boundary="d"

--d
Content-Type: text/plain; charset=utf-8

Digest intro
--d

From: list@lists.example
Subject: first post

First post body
--d

From: list@lists.example
Subject: second post

Second post body
--d--
`);
    expect(parsed!.text).toContain('Digest intro');
    const copy = raw.toString('latin1');
    // The embedded messages are untouched: no footer after their bodies, their headers not made text.
    expect(copy).toContain('\r\n\r\nFrom: list@lists.example\r\nSubject: second post\r\n\r\nSecond post body\r\n--d--');
    expect(copy.match(/FOOTER-TEXT/g)).toHaveLength(1);
    expect(copy.indexOf('FOOTER-TEXT')).toBeLessThan(copy.indexOf('first post'));
  });

  it('a leaf with a stray boundary= is a leaf: the HTML is decoded, footered, and reads right', async () => {
    const { parsed, raw } = await copyOf(`${head}MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"; boundary="----=_NextPart_000"
Content-Transfer-Encoding: quoted-printable

<html><body><p style=3D"color:red">Bonjour =C3=A0 vous</p>
------=_NextPart_000
<p>still the same part</p></body></html>
`);
    expect(parsed!.html).toContain('<p style="color:red">Bonjour à vous</p>');
    expect(parsed!.html).toContain('still the same part');
    expect(parsed!.html).toContain('FOOTER-HTML');
    expect(parsed!.html).not.toContain('=3D');
    expect(raw.toString('latin1')).not.toMatch(/boundary=/i);
  });

  it('never sends a reconstruction: bytes mailsplit would duplicate go out once, wrapped, footer after', async () => {
    const text = `${head}MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=z

--z
hello no blank line
--z--
`;
    const { built, raw } = await copyOf(text);
    expect(built.ok && built.template.wrapped).toBe(true);
    const copy = raw.toString('latin1');
    expect(copy.match(/hello no blank line/g)).toHaveLength(1);
    expect(copy.indexOf('FOOTER-TEXT')).toBeGreaterThan(copy.indexOf('hello no blank line'));
  });

  it('decodes a charset iconv-lite lacks (ISO-2022-JP) with the platform decoder and footers the part itself', async () => {
    const jis = Buffer.from([0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42]); // 日本 in ISO-2022-JP
    const message = Buffer.concat([
      crlf(
        `${head}MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-2022-jp\nContent-Transfer-Encoding: 7bit\n\n`,
      ),
      jis,
      crlf('\n'),
    ]);
    const { built, parsed } = await copyOf(message);
    expect(built.ok && built.template.wrapped).toBe(false);
    expect(parsed!.text).toContain('日本');
    expect(parsed!.text).toContain('FOOTER-TEXT');
  });

  it('never transcodes a part that does not decode in its declared charset: footer in a part of its own after it', async () => {
    const utf8 = Buffer.from('你好，世界', 'utf8');
    const message = Buffer.concat([
      crlf(`${head}MIME-Version: 1.0\nContent-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n`),
      utf8,
      crlf('\n'),
    ]);
    const { built, raw } = await copyOf(message);
    expect(built.ok && built.template.wrapped).toBe(true);
    expect(raw.includes(utf8)).toBe(true);
    expect(raw.indexOf('FOOTER-TEXT')).toBeGreaterThan(raw.indexOf(utf8));
  });

  it('reads `Content-Type: text` as text/plain, and drops a Content-Length the footer makes wrong', async () => {
    const { raw, parsed } = await copyOf(`${head}MIME-Version: 1.0
Content-Type: text; charset=utf-8
Content-Length: 6

Hello
`);
    const headers = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
    expect(headers).toMatch(/^Content-Type: text\/plain; charset=utf-8/im);
    expect(headers).not.toMatch(/content-length/i);
    expect(parsed!.text).toContain('FOOTER-TEXT');
  });

  it('refuses message/partial fragments with a reason', async () => {
    const { built } = await copyOf(`${head}MIME-Version: 1.0
Content-Type: message/partial; id="abc@x"; number=1; total=2

part one
`);
    expect(built).toEqual({
      ok: false,
      reason: expect.stringMatching(/message\/partial fragment: a fragment cannot carry the mentions/),
    });
  });

  it('puts the footer after the content when it wraps a message', async () => {
    const { built, raw } = await copyOf(`${head}MIME-Version: 1.0
Content-Type: application/pdf; name="offer.pdf"
Content-Disposition: attachment; filename="offer.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
`);
    expect(built.ok && built.template.wrapped).toBe(true);
    const copy = raw.toString('latin1');
    expect(copy.indexOf('JVBERi0xLjQK')).toBeLessThan(copy.indexOf('FOOTER-TEXT'));
    expect(copy).toMatch(/Content-Disposition: inline\r\nContent-Type: multipart\/alternative/);
  });
});
