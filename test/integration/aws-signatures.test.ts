import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { STREAMED_USER_AGENT } from '../../proxy/ses-stream.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../shared/aws/local-endpoint.ts';
import { signRequest } from '../../shared/aws/sigv4.ts';
import { testConfig } from '../helpers/config.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * The stand-ins verify every SigV4 signature as AWS does, so a request real AWS would refuse is
 * refused here too; and both ways Fairsend sends a copy (the SDK, and its own streamed request
 * for large copies) are signed right.
 */
let streamed: LocalStack;
let sdk: LocalStack;
beforeAll(async () => {
  const big = (raw: Record<string, any>) => {
    raw.smtp.maxMessageBytes = 40 * 1024 * 1024;
  };
  [streamed, sdk] = await Promise.all([
    startTestStack({ config: await testConfig(big) }),
    startTestStack({
      config: await testConfig((raw) => {
        big(raw);
        raw.ses.streamAboveBytes = 64 * 1024 * 1024;
      }),
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([streamed?.stop(), sdk?.stop()]);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function message(attachment: Buffer): Promise<Buffer> {
  return new MailComposer({
    from: 'alice@acme.example',
    to: 'bob@client.example',
    subject: 'Catalogue',
    text: 'Notre catalogue est joint.',
    attachments: [{ filename: 'catalogue.bin', content: attachment }],
  })
    .compile()
    .build();
}

describe('both SES paths, verified by the signature-checking stand-in', () => {
  // Attachments of 3.7 and 22 MB give messages of ~5 and ~30 MB once base64-encoded.
  for (const [label, bytes] of [
    ['5 MB', 3_700_000],
    ['30 MB', 22_400_000],
  ] as const) {
    for (const path of ['streamed', 'sdk'] as const) {
      it(`delivers a ${label} message through the ${path} path`, async () => {
        const stack = path === 'streamed' ? streamed : sdk;
        stack.ses!.clear();
        const attachment = Buffer.alloc(bytes, 0x5a);
        attachment.writeUInt32BE(bytes, 0);
        const raw = await message(attachment);
        expect(raw.length).toBeGreaterThan(label === '5 MB' ? 4_900_000 : 29_900_000);
        const info = await sendWithNodemailer(stack, { from: 'alice@acme.example', to: ['bob@client.example'], raw });
        expect(info.response).toMatch(/^250 2\.0\.0 Ok: 1 of 1 copies sent/);
        const [copy] = stack.ses!.messages;
        // Which path ran: the streamed request names itself, the SDK's carries the SDK's user-agent.
        if (path === 'streamed') expect(copy!.userAgent).toBe(STREAMED_USER_AGENT);
        else expect(copy!.userAgent).toMatch(/^aws-sdk-js\//);
        const parsed = await simpleParser(copy!.raw);
        expect(sha(parsed.attachments[0]!.content)).toBe(sha(attachment));
      }, 60_000);
    }
  }
});

describe('the SES stand-in checks signatures like SES', () => {
  it('answers 403 SignatureDoesNotMatch to a request signed with another secret key, and keeps nothing', async () => {
    streamed.ses!.clear();
    const client = new SESv2Client({
      region: streamed.config.ses.region,
      endpoint: streamed.config.ses.endpoint,
      credentials: { accessKeyId: LOCAL_AWS_CREDENTIALS.accessKeyId, secretAccessKey: 'a-wrong-secret' },
      maxAttempts: 1,
    });
    const error = await client
      .send(
        new SendEmailCommand({
          FromEmailAddress: 'alice@acme.example',
          Destination: { ToAddresses: ['bob@client.example'] },
          Content: { Raw: { Data: Buffer.from('Subject: x\r\n\r\nx\r\n') } },
        }),
      )
      .catch((e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } });
    client.destroy();
    expect(error).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    expect(streamed.ses!.messages).toHaveLength(0);
  });

  it('answers 403 to a body changed after it was signed', async () => {
    const url = new URL('/v2/email/outbound-emails', streamed.config.ses.endpoint);
    const body = (to: string) =>
      JSON.stringify({
        Content: { Raw: { Data: Buffer.from('Subject: x\r\n\r\nx\r\n').toString('base64') } },
        Destination: { ToAddresses: [to] },
      });
    const signed = await signRequest(
      {
        credentials: LOCAL_AWS_CREDENTIALS,
        region: streamed.config.ses.region,
        service: 'ses',
      },
      {
        method: 'POST',
        hostname: url.hostname,
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'content-type': 'application/json' },
        body: body('bob@client.example'),
      },
    );
    const send = (text: string) =>
      fetch(url, {
        method: 'POST',
        headers: Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host')),
        body: text,
      });
    // The same bytes are accepted, one changed address is not (its declared payload hash no longer holds).
    expect((await send(body('bob@client.example'))).status).toBe(200);
    const tampered = await send(body('eve@client.example'));
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('x-amzn-errortype')).toBe('SignatureDoesNotMatch');
  });
});

describe('the DynamoDB stand-in checks signatures like DynamoDB', () => {
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new DynamoDBClient({
      region: streamed.config.dynamodb.region,
      endpoint: streamed.config.dynamodb.endpoint,
      credentials,
      maxAttempts: 1,
    });

  it('accepts the local credentials and refuses a wrong secret, an unknown key and another region', async () => {
    const good = client({ ...LOCAL_AWS_CREDENTIALS });
    expect((await good.send(new ListTablesCommand({}))).TableNames?.length).toBeGreaterThan(0);
    good.destroy();

    const wrong = client({ accessKeyId: LOCAL_AWS_CREDENTIALS.accessKeyId, secretAccessKey: 'a-wrong-secret' });
    await expect(wrong.send(new ListTablesCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    wrong.destroy();

    const unknown = client({ accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: 'x' });
    await expect(unknown.send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    unknown.destroy();

    const elsewhere = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: streamed.config.dynamodb.endpoint,
      credentials: { ...LOCAL_AWS_CREDENTIALS },
      maxAttempts: 1,
    });
    await expect(elsewhere.send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    elsewhere.destroy();
  });
});

describe("the streamed path's signer", () => {
  it("gives the SDK's signature for the request the SDK sends", async () => {
    // A server that keeps what the SDK sent, exactly as sent.
    let seen: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer } | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"MessageId":"m-1"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const credentials = { accessKeyId: 'AKIDFAIRSENDTEST', secretAccessKey: 'test-secret-for-the-comparison' };
    const client = new SESv2Client({ region: 'eu-west-3', endpoint: `http://127.0.0.1:${port}`, credentials });
    await client.send(
      new SendEmailCommand({
        FromEmailAddress: 'alice@acme.example',
        Destination: { ToAddresses: ['bob@client.example'] },
        Content: { Raw: { Data: Buffer.from('Subject: same request\r\n\r\nhello\r\n') } },
        EmailTags: [{ Name: 'controller', Value: 'acme' }],
      }),
    );
    server.close();
    const sent = seen!;
    const sdkAuthorization = String(sent.headers.authorization);
    const signedNames = sdkAuthorization.match(/SignedHeaders=([^,]+)/)![1]!.split(';');
    const amzDate = String(sent.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const ours = await signRequest(
      { credentials, region: 'eu-west-3', service: 'ses' },
      {
        method: sent.method,
        hostname: '127.0.0.1',
        path: sent.path,
        query: {},
        headers: Object.fromEntries(
          signedNames.filter((n) => n !== 'x-amz-date').map((n) => [n, String(sent.headers[n])]),
        ),
        body: sent.body.toString('utf8'),
      },
      signingDate,
    );
    client.destroy();
    expect(ours.headers.authorization).toBe(sdkAuthorization);
  });
});
