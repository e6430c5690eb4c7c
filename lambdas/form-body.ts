/**
 * Reads an HTML form body: application/x-www-form-urlencoded or multipart/form-data (RFC 7578),
 * the two encodings RFC 8058 allows for the one-click POST, with the platform's own parser
 * (`Response.formData()`, undici's, the one fetch uses). A body with no content type is read as
 * urlencoded, as some receivers send it. Returns null for anything else or a body that does not
 * parse; file fields are ignored.
 */
export async function readForm(contentType: string | undefined, body: Buffer): Promise<Map<string, string> | null> {
  const type = contentType ?? (body.length > 0 ? 'application/x-www-form-urlencoded' : '');
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return null;
  try {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': type } }).formData();
    const fields = new Map<string, string>();
    for (const [name, value] of form) if (typeof value === 'string') fields.set(name, value);
    return fields;
  } catch {
    return null;
  }
}
