import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import type { Language } from '../config.ts';
import { encodeText } from './text-codec.ts';

/**
 * The notice a sender in `drop-and-notify` mode receives for the recipients Fairsend did not send
 * to: a delivery status notification (RFC 3464, multipart/report) whose first part says, in the
 * company's language, who was not sent and why, so a salesperson reads it like any bounce; the
 * machine-readable part lets mail clients and CRMs match it to the message.
 */
export interface NotSent {
  recipient: string;
  /** The SMTP reply the recipient would have had: "550 5.7.1 <x>: …". */
  reply: string;
}

export interface NoticeInput {
  language: Language;
  /** A verified sending identity (the sender's own domain): SES only sends from those. */
  from: string;
  to: string;
  hostname: string;
  subject: string | undefined;
  messageId: string | undefined;
  /** The submitted message's header block, returned as text/rfc822-headers. */
  originalHeaders: Buffer;
  notSent: NotSent[];
  sentCount: number;
  at: Date;
}

const TEXT: Record<
  Language,
  {
    subject: (n: number, total: number) => string;
    intro: (n: number, total: number) => string;
    why: string;
    end: string;
  }
> = {
  fr: {
    subject: (n, total) => `Non envoyé à ${n} destinataire(s) sur ${total}`,
    intro: (n, total) =>
      `Votre message a été envoyé aux autres destinataires, mais pas à ${n} des ${total} destinataires :`,
    why: 'Raison',
    end: "Ne réessayez pas pour ces adresses : ce refus est définitif tant que la situation ne change pas. Rien d'autre n'est à faire.",
  },
  en: {
    subject: (n, total) => `Not sent to ${n} of ${total} recipient(s)`,
    intro: (n, total) => `Your message went to the other recipients, but not to ${n} of the ${total} recipients:`,
    why: 'Reason',
    end: 'Do not retry these addresses: the refusal stands until the situation changes. Nothing else needs doing.',
  },
  de: {
    subject: (n, total) => `Nicht gesendet an ${n} von ${total} Empfänger(n)`,
    intro: (n, total) =>
      `Ihre Nachricht wurde an die übrigen Empfänger gesendet, aber nicht an ${n} der ${total} Empfänger:`,
    why: 'Grund',
    end: 'Bitte nicht erneut an diese Adressen senden: Die Ablehnung gilt, bis sich die Lage ändert.',
  },
};

export function buildRefusalNotice(input: NoticeInput): Buffer {
  const t = TEXT[input.language];
  const total = input.notSent.length + input.sentCount;
  const boundary = `fairsend-report-${randomBytes(9).toString('hex')}`;
  const subject = `${t.subject(input.notSent.length, total)}${input.subject ? `: ${input.subject}` : ''}`;
  const readable = [
    t.intro(input.notSent.length, total),
    '',
    ...input.notSent.flatMap((n) => [
      `  ${n.recipient}`,
      `    ${t.why}: ${n.reply.replace(/^\d{3} \d\.\d\.\d+ /, '')}`,
    ]),
    '',
    t.end,
    '',
  ].join('\r\n');
  const status = [
    `Reporting-MTA: dns; ${input.hostname}`,
    `Arrival-Date: ${input.at.toUTCString()}`,
    '',
    ...input.notSent.flatMap((n) => {
      const code = /^\d{3} (\d\.\d\.\d+)/.exec(n.reply)?.[1] ?? '5.7.1';
      return [
        `Final-Recipient: rfc822; ${n.recipient}`,
        'Action: failed',
        `Status: ${code}`,
        `Diagnostic-Code: smtp; ${n.reply.replace(/[\r\n]+/g, ' ')}`,
        '',
      ];
    }),
  ].join('\r\n');
  const headers = [
    `From: ${libmime.encodeWord('Fairsend', 'Q')} <${input.from}>`,
    `To: <${input.to}>`,
    `Subject: ${libmime.encodeWords(subject, 'Q', 52)}`,
    `Date: ${input.at.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${input.hostname}>`,
    ...(input.messageId ? [`In-Reply-To: ${input.messageId}`, `References: ${input.messageId}`] : []),
    // RFC 3834: an automatic message; nothing should answer it automatically.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
  ].join('\r\n');
  return Buffer.concat([
    Buffer.from(
      `${headers}\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
    ),
    encodeText(readable, 'quoted-printable'),
    Buffer.from(`\r\n--${boundary}\r\nContent-Type: message/delivery-status\r\n\r\n${status}\r\n--${boundary}\r\n`),
    Buffer.from('Content-Type: text/rfc822-headers\r\n\r\n'),
    input.originalHeaders,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}
