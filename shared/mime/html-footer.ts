import { HTML_FOOTER_MARKER } from '../footer.ts';

/**
 * Puts the footer inside the HTML body: before `</body>` (or `</html>`, or at the end when the
 * part is a fragment), in a centred block as wide as the message's own layout (the first table
 * or container with a fixed width), so it reads as part of the message rather than dangling
 * after it.
 */
export function insertHtmlFooter(html: string, footerHtml: string): string {
  const block = `${HTML_FOOTER_MARKER}\r\n${wrapFooter(footerHtml, layoutWidth(html))}\r\n`;
  const at = lastIndexOfTag(html, '</body') ?? lastIndexOfTag(html, '</html') ?? html.length;
  return `${html.slice(0, at)}${at === html.length && !html.endsWith('\n') ? '\r\n' : ''}${block}${html.slice(at)}`;
}

/** After re-encoding to UTF-8, a `<meta charset>` naming another charset would contradict the part. */
export function declareUtf8(html: string): string {
  return html
    .replace(/(<meta\s[^>]*charset\s*=\s*["']?)[\w-]+/gi, '$1utf-8')
    .replace(/(<meta\s[^>]*content\s*=\s*["'][^"']*charset=)[\w-]+/gi, '$1utf-8');
}

function lastIndexOfTag(html: string, tag: string): number | undefined {
  const index = html.toLowerCase().lastIndexOf(tag);
  return index === -1 ? undefined : index;
}

function layoutWidth(html: string): number | undefined {
  const bodyStart = html.search(/<body[\s>]/i);
  const body = bodyStart === -1 ? html : html.slice(bodyStart);
  const container = /<(table|div|center)\b[^>]*>/i.exec(body);
  if (!container) return undefined;
  const tag = container[0];
  const attr = /\bwidth\s*=\s*["']?(\d{3,4})(?!\d|%)/i.exec(tag);
  const style = /(?:max-width|[^-]width)\s*:\s*(\d{3,4})px/i.exec(tag);
  const width = Number(attr?.[1] ?? style?.[1]);
  return width >= 200 && width <= 2000 ? width : undefined;
}

function wrapFooter(footerHtml: string, width: number | undefined): string {
  const max = width ? `max-width:${width}px;` : '';
  return [
    `<table role="presentation" align="center" width="100%" cellpadding="0" cellspacing="0" border="0" style="${max}margin:0 auto;border-collapse:collapse">`,
    '<tr><td style="padding:16px 8px 8px 8px;border-top:1px solid #dddddd;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:1.5;color:#555555">',
    footerHtml,
    '</td></tr></table>',
  ].join('\r\n');
}
