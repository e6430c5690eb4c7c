/** A plain RFC 5322 message with CRLF line endings. */
export function plainMessage(
  options: { from?: string; to?: string; subject?: string; body?: string; extraHeaders?: string[] } = {},
): string {
  const lines = [
    `From: ${options.from ?? 'Alice <alice@acme.example>'}`,
    `To: ${options.to ?? 'bob@client.example'}`,
    `Subject: ${options.subject ?? 'Hello'}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0100',
    `Message-ID: <${Math.random().toString(36).slice(2)}@acme.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...(options.extraHeaders ?? []),
    '',
    options.body ?? 'Bonjour,\r\nceci est un test.\r\n',
  ];
  return lines.join('\r\n');
}
