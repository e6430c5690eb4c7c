import MailComposer from 'nodemailer/lib/mail-composer';

/** A 20 KB multipart message (text, HTML, a small PDF), made unique per send and personalised (another name). */
export async function message20k(): Promise<(n: number) => string> {
  const raw = await new MailComposer({
    from: 'Alice <alice@acme.example>',
    to: 'prospect@client.example',
    subject: 'Bench',
    text: `Bonjour NAME,\n\n${'Voici notre offre.\n'.repeat(40)}`,
    html: `<html><body><table width="600"><tr><td><p>Bonjour NAME,</p>${'<p>Voici notre offre.</p>'.repeat(60)}</td></tr></table></body></html>`,
    attachments: [{ filename: 'offre.pdf', content: Buffer.alloc(9000, 0x25) }],
    messageId: '<MSGID@acme.example>',
  })
    .compile()
    .build();
  // CRLF throughout, as a mail client sends it: MailComposer's build() leaves the text part's "\n"
  // as they are (7bit), which nodemailer's SMTP transport, Thunderbird or Outlook never send; bare
  // LFs would put every message of the benchmark through the relay's normalisation.
  const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  // Personalised like a campaign's mails: each greets its reader by name.
  const names = ['Marie', 'Jean-Pierre', 'Zoé', 'Karim', 'Anne-Sophie', 'Li', 'Grégoire'];
  return (n) =>
    text.replace('MSGID', `bench-${process.pid}-${n}-${Date.now()}`).replaceAll('NAME', names[n % names.length]!);
}

/** A ~25 MB message with attachments. */
export async function message25m(): Promise<string> {
  const raw = await new MailComposer({
    from: 'Alice <alice@acme.example>',
    to: 'prospect@client.example',
    subject: 'Big',
    text: 'Please find our catalogue attached.',
    html: '<p>Please find our catalogue attached.</p>',
    attachments: [
      { filename: 'catalogue.pdf', content: Buffer.alloc(12 * 1024 * 1024, 0x41) },
      { filename: 'annexes.zip', content: Buffer.alloc(6 * 1024 * 1024, 0x42) },
    ],
  })
    .compile()
    .build();
  return raw.toString('latin1');
}
