import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';

/**
 * The rewrite corpus: message shapes real clients send, built with nodemailer's MailComposer,
 * plus hand-written edge cases in fixtures/*.eml. `wrapped` marks shapes with no part the footer
 * can go into (the message is wrapped), `quotedFooter` shapes quoting the footer of an earlier Fairsend message.
 */
export interface Shape {
  name: string;
  raw: Buffer;
  wrapped?: boolean;
  quotedFooter?: boolean;
}

const base = {
  from: 'Alice <alice@acme.example>',
  to: 'Bob <bob@client.example>',
  subject: 'Notre offre',
  date: new Date('2026-11-28T10:00:00Z'),
  messageId: '<corpus@acme.example>',
};
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const pdf = Buffer.from(`%PDF-1.4\n${'binary \u0000\u00ff stuff '.repeat(400)}`, 'latin1');
const longLine = `${'Lorem ipsum dolor sit amet '.repeat(60)}end`;
const table =
  '<html><body><table width="600" align="center"><tr><td><h1>Offre</h1><p>Texte.</p></td></tr></table></body></html>';

const composed: [string, ConstructorParameters<typeof MailComposer>[0], Partial<Shape>?][] = [
  ['text only', { text: 'Bonjour Bob,\n\nVoici notre offre.\n' }],
  ['html only', { html: '<p>Bonjour <b>Bob</b></p>' }],
  ['text and html', { text: 'Bonjour', html: '<html><body><p>Bonjour</p></body></html>' }],
  [
    'text, html and pdf',
    { text: 'Voir PJ', html: '<p>Voir PJ</p>', attachments: [{ filename: 'offre.pdf', content: pdf }] },
  ],
  [
    'html with inline logo (related)',
    {
      html: '<p><img src="cid:logo@acme"> Bonjour</p>',
      attachments: [{ filename: 'logo.png', content: png, cid: 'logo@acme' }],
    },
  ],
  [
    'outlook-like: alternative, inline logo and pdf',
    {
      text: 'Bonjour,\nnotre plaquette est jointe.',
      html: '<html><body><p>Bonjour,</p><img src="cid:logo@acme"><p>notre plaquette est jointe.</p></body></html>',
      attachments: [
        { filename: 'logo.png', content: png, cid: 'logo@acme' },
        { filename: 'plaquette.pdf', content: pdf },
      ],
    },
  ],
  ['text and attachment', { text: 'PJ', attachments: [{ filename: 'a.pdf', content: pdf }] }],
  ['html and attachment', { html: '<p>PJ</p>', attachments: [{ filename: 'a.pdf', content: pdf }] }],
  ['attachment only', { attachments: [{ filename: 'only.pdf', content: pdf }] }, { wrapped: true }],
  ['text in base64', { text: 'Texte encodé en base64, avec des accents : é à ü.', textEncoding: 'base64' }],
  ['text in quoted-printable', { text: 'Texte en QP : é à ü — fin.', textEncoding: 'quoted-printable' }],
  ['html table layout', { html: table }],
  ['html fragment without body', { html: '<div>Juste un fragment</div>' }],
  [
    'calendar invitation with text and html',
    {
      text: 'Invitation',
      html: '<p>Invitation</p>',
      icalEvent: {
        method: 'REQUEST',
        content: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x@acme\r\nEND:VEVENT\r\nEND:VCALENDAR',
      },
    },
  ],
  ['text with a 1600-character line', { text: `Début\n${longLine}\nFin` }],
  ['emoji and astral characters', { text: 'Salut 👋 🚀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', html: '<p>Salut 👋 🚀</p>' }],
  ['german and french accents', { text: 'Grüße, Straße, Größe; élève, où, garçon', html: '<p>Grüße – élève</p>' }],
  [
    'three attachments',
    {
      text: 'Trois PJ',
      attachments: [
        { filename: 'a.pdf', content: pdf },
        { filename: 'b.png', content: png },
        { filename: 'c.csv', content: 'a;b\n1;2\n' },
      ],
    },
  ],
  [
    'forwarded message attachment',
    {
      text: 'Transfert',
      attachments: [
        {
          filename: 'fwd.eml',
          content: 'From: x@y.example\r\nSubject: old\r\n\r\nold body\r\n',
          contentType: 'message/rfc822',
        },
      ],
    },
  ],
  [
    'amp alternative',
    { text: 'AMP', html: '<p>AMP</p>', amp: '<!doctype html><html ⚡4email><body>AMP</body></html>' },
  ],
  ['watch html', { text: 'watch', html: '<p>html</p>', watchHtml: '<b>watch</b>' }],
  ['csv attachment (text/csv)', { text: 'CSV', attachments: [{ filename: 'data.csv', content: 'x,y\n' }] }],
  [
    'text attachment with attachment disposition',
    {
      text: 'Corps',
      attachments: [{ filename: 'readme.txt', content: 'attached text', contentDisposition: 'attachment' }],
    },
  ],
  [
    'one-megabyte attachment',
    { text: 'Gros fichier', attachments: [{ filename: 'big.bin', content: Buffer.alloc(1024 * 1024, 0xab) }] },
  ],
  ['html with uppercase tags', { html: '<HTML><BODY><P>UPPER</P></BODY></HTML>' }],
];

export async function corpus(): Promise<Shape[]> {
  const shapes: Shape[] = [];
  for (const [name, mail, extra] of composed) {
    const raw = await new MailComposer({ ...base, ...mail }).compile().build();
    shapes.push({ name, raw, ...extra });
  }
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
  for (const file of readdirSync(dir).sort()) {
    const raw = readFileSync(join(dir, file));
    shapes.push({
      name: `fixture ${file}`,
      raw,
      wrapped: /^(pgp-signed|smime-encrypted|pgp-encrypted|calendar-only|pdf-only)/.test(file),
      quotedFooter: file.startsWith('quoted-footer'),
    });
  }
  return shapes;
}
