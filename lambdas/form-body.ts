/**
 * Reads an HTML form body: application/x-www-form-urlencoded or multipart/form-data (RFC 7578),
 * the two encodings RFC 8058 allows for the one-click POST. Returns null for anything else.
 */
export function readForm(contentType: string | undefined, body: Buffer): Map<string, string> | null {
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded') || (type === '' && body.length > 0)) {
    return new Map(new URLSearchParams(body.toString('utf8')));
  }
  if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    const marker = boundary?.[1] ?? boundary?.[2];
    if (!marker) return null;
    const fields = new Map<string, string>();
    for (const part of body.toString('utf8').split(`--${marker}`).slice(1)) {
      if (part.startsWith('--')) break;
      const split = part.indexOf('\r\n\r\n');
      if (split === -1) continue;
      const headers = part.slice(0, split);
      const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
      if (name !== undefined) fields.set(name, part.slice(split + 4).replace(/\r\n$/, ''));
    }
    return fields;
  }
  return null;
}
