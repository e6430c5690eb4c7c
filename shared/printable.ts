/**
 * Text from outside (a subject, a Message-ID, a user name) made safe for a terminal: control
 * characters (C0, DEL, C1 — ESC starts the sequences that move the cursor, clear the screen or
 * rewrite the title) and the bidi overrides that reorder what is shown are written as escapes
 * (`\x1b`, `\u202e`), so what an admin reads is what was received, and nothing else happens.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this is for
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Each line of `text` made printable; the line breaks between them are kept. */
export function printableLines(text: string): string {
  return text
    .split('\n')
    .map((line) => printable(line.replace(/\r$/, '')))
    .join('\n');
}
