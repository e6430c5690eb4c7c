import { simpleParser } from 'mailparser';
import { escapeHtml } from '../../shared/html.ts';
import type { StoredMessage } from './ses-stand-in.ts';

/**
 * The local outbox as a person reads it: the latest 100 copies the SES stand-in took, each with
 * its text as the recipient would see it, its attachments, its headers and a link to its raw bytes.
 */
export async function outboxPage(messages: StoredMessage[]): Promise<string> {
  const latest = [...messages].reverse().slice(0, 100);
  const rows: string[] = [];
  for (const m of latest) {
    const headers = headerBlock(m.raw);
    const parsed = await simpleParser(m.raw, { skipHtmlToText: false, skipImageLinks: true }).catch(() => null);
    const subject = parsed?.subject ?? '(no subject)';
    const attachments = parsed?.attachments.map((a) => `${a.filename ?? a.contentType} (${a.size} bytes)`).join(', ');
    rows.push(`<tr><td>${escapeHtml(m.receivedAt)}</td><td>${escapeHtml(m.from ?? '')}</td><td>${escapeHtml(m.destination.join(', '))}</td>
<td><details><summary>${escapeHtml(subject)}</summary><h3>Text</h3><pre>${escapeHtml(parsed?.text ?? '(no text part)')}</pre>${attachments ? `<p>Attachments: ${escapeHtml(attachments)}</p>` : ''}<h3>Headers</h3><pre>${escapeHtml(headers)}</pre></details></td>
<td>${escapeHtml(
      Object.entries(m.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    )}</td>
<td><a href="/api/messages/${m.id}.eml">raw (${m.raw.length} bytes)</a></td></tr>`);
  }
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fairsend – local SES outbox</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%;table-layout:fixed}th:nth-child(4),td:nth-child(4){width:50%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;background:#f6f6f6;padding:.5rem}h3{font-size:13px;margin:.6rem 0 .2rem}</style></head>
<body><h1>Local SES outbox</h1><p>${messages.length} message(s) handed to the SES stand-in${messages.length > latest.length ? `, the latest ${latest.length} shown` : ''}. Each row is one SendEmail call; open a subject to read the copy as its recipient would (text part, attachments, headers); “raw” is the exact bytes SES was given.</p>
<table><thead><tr><th>Received</th><th>From</th><th>Destination</th><th>Subject / text / headers</th><th>Tags</th><th>Raw</th></tr></thead><tbody>${rows.join('\n') || '<tr><td colspan="6">Nothing sent yet.</td></tr>'}</tbody></table></body></html>`;
  return html;
}

function headerBlock(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end === -1 ? Math.min(raw.length, 65536) : end).toString('utf8');
}
