import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SESEvent } from 'aws-lambda';
import { simpleParser } from 'mailparser';
import { readBody } from './http-server.ts';

/**
 * `POST /local/inbound-mail` with a raw RFC 5322 message: what an SES receipt rule would hand
 * the mailto-unsubscribe function in AWS, built from the message and passed to the same handler.
 * `?via=sns`: as SES's SNS action delivers it instead (the receipt rule in another region).
 */
export function inboundMailRoute(handler: (event: SESEvent) => Promise<unknown>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, 1024 * 1024);
    if (body === null) {
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('message too large\n');
      return;
    }
    const mail = await simpleParser(body);
    const to = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) =>
      a.value.map((v) => v.address ?? ''),
    );
    const from = mail.from?.value.map((v) => v.address ?? '') ?? [];
    const messageId = randomUUID();
    const event = {
      Records: [
        {
          eventSource: 'aws:ses',
          eventVersion: '1.0',
          ses: {
            mail: {
              timestamp: new Date().toISOString(),
              source: from[0] ?? '',
              messageId,
              destination: to,
              headersTruncated: false,
              headers: [],
              commonHeaders: {
                returnPath: from[0] ?? '',
                from,
                to,
                subject: mail.subject ?? '',
                messageId: mail.messageId ?? '',
              },
            },
            receipt: {},
          },
        },
      ],
    } as unknown as SESEvent;
    const viaSns = new URL(req.url ?? '/', 'http://localhost').searchParams.get('via') === 'sns';
    const record = (event as unknown as { Records: { ses: { mail: unknown; receipt: unknown } }[] }).Records[0]!;
    const delivered = viaSns
      ? ({
          Records: [
            {
              EventSource: 'aws:sns',
              Sns: {
                Type: 'Notification',
                Message: JSON.stringify({
                  notificationType: 'Received',
                  mail: record.ses.mail,
                  receipt: record.ses.receipt,
                }),
              },
            },
          ],
        } as unknown as SESEvent)
      : event;
    const result = await handler(delivered);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  };
}
