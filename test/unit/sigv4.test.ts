import { describe, expect, it } from 'vitest';
import { SigV4Verifier } from '../../infra/local/sigv4-verifier.ts';
import { signRequest } from '../../shared/aws/sigv4.ts';

/**
 * AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite: service "service",
 * region us-east-1, 2015-08-30T12:36:00Z, the example key pair). Fairsend signs its streamed
 * SendEmail requests itself, and the stand-ins verify every request they get: both must give
 * AWS's expected signatures, or real AWS would answer 403 where local tests pass.
 */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  region: 'us-east-1',
  service: 'service',
  at: new Date('2015-08-30T12:36:00Z'),
};
const SCOPE = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

interface Vector {
  name: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  target: string;
  headers: Record<string, string>;
  body: string;
  authorization: string;
}

const VECTORS: Vector[] = [
  {
    name: 'get-vanilla',
    method: 'GET',
    path: '/',
    target: '/',
    headers: {},
    body: '',
    authorization: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`,
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    path: '/',
    query: { Param2: 'value2', Param1: 'value1' },
    target: '/?Param2=value2&Param1=value1',
    headers: {},
    body: '',
    authorization: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500`,
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    path: '/',
    target: '/',
    headers: {},
    body: '',
    authorization: `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b`,
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    path: '/',
    target: '/',
    headers: { 'My-Header1': 'VALUE1' },
    body: '',
    authorization: `${SCOPE}, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d`,
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    path: '/',
    target: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    authorization: `${SCOPE}, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a`,
  },
  {
    name: 'post-x-www-form-urlencoded-parameters',
    method: 'POST',
    path: '/',
    target: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf8' },
    body: 'Param1=value1',
    authorization: `${SCOPE}, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe`,
  },
];

function received(vector: Vector, authorization: string, body = vector.body) {
  const rawHeaders = ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'];
  for (const [name, value] of Object.entries(vector.headers)) rawHeaders.push(name, value);
  rawHeaders.push('Authorization', authorization);
  return { method: vector.method, url: vector.target, rawHeaders, body: Buffer.from(body) };
}

const verifier = (now = SUITE.at) =>
  new SigV4Verifier({ credentials: [SUITE.credentials], region: SUITE.region, service: SUITE.service, now: () => now });

describe("Fairsend's own SigV4 signing (aws4: the lean DynamoDB and streamed SendEmail paths)", () => {
  for (const vector of VECTORS) {
    it(`gives AWS's signature for ${vector.name}`, async () => {
      const signed = await signRequest(
        {
          credentials: SUITE.credentials,
          region: SUITE.region,
          service: SUITE.service,
        },
        {
          method: vector.method,
          hostname: 'example.amazonaws.com',
          path: vector.path,
          query: vector.query ?? {},
          headers: { host: 'example.amazonaws.com', ...vector.headers },
          ...(vector.body ? { body: vector.body } : {}),
        },
        SUITE.at,
      );
      expect(signed.headers.authorization).toBe(vector.authorization);
    });
  }

  it('signs the session token of temporary credentials (an ECS task role) and dates the request as signed', async () => {
    const signed = await signRequest(
      {
        credentials: async () => ({ ...SUITE.credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE/token+with=chars' }),
        region: SUITE.region,
        service: SUITE.service,
      },
      {
        method: 'POST',
        hostname: 'example.amazonaws.com',
        path: '/',
        headers: { host: 'example.amazonaws.com', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Param1=value1',
      },
      SUITE.at,
    );
    expect(signed.headers['x-amz-date']).toBe('20150830T123600Z');
    expect(signed.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE/token+with=chars');
    expect(signed.headers.authorization).toMatch(/SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/);
    const rawHeaders = Object.entries(signed.headers).flat();
    expect(verifier().verify({ method: 'POST', url: '/', rawHeaders, body: Buffer.from('Param1=value1') })).toEqual({
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
    });
  });
});

describe('the stand-ins’ SigV4 verification', () => {
  for (const vector of VECTORS) {
    it(`accepts AWS's signed request ${vector.name}`, () => {
      expect(verifier().verify(received(vector, vector.authorization))).toEqual({
        ok: true,
        accessKeyId: 'AKIDEXAMPLE',
      });
    });
  }

  const form = VECTORS.find((v) => v.name === 'post-x-www-form-urlencoded')!;

  it('refuses a signature made with another secret key', () => {
    const other = new SigV4Verifier({
      credentials: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-the-key-that-signed' }],
      region: SUITE.region,
      service: SUITE.service,
      now: () => SUITE.at,
    });
    expect(other.verify(received(form, form.authorization))).toMatchObject({
      ok: false,
      failure: 'SignatureDoesNotMatch',
    });
  });

  it('refuses a body changed after signing', () => {
    expect(verifier().verify(received(form, form.authorization, 'Param1=value2'))).toMatchObject({
      ok: false,
      failure: 'SignatureDoesNotMatch',
    });
  });

  it('refuses a changed signed header, an unknown key, another region, a stale date and a missing header', () => {
    const changed = received(form, form.authorization);
    changed.rawHeaders[changed.rawHeaders.indexOf('Content-Type') + 1] = 'text/plain';
    expect(verifier().verify(changed)).toMatchObject({ ok: false, failure: 'SignatureDoesNotMatch' });
    expect(verifier().verify(received(form, form.authorization.replace('AKIDEXAMPLE', 'AKIDOTHER')))).toMatchObject({
      ok: false,
      failure: 'UnrecognizedClient',
    });
    expect(verifier().verify(received(form, form.authorization.replace('us-east-1', 'eu-west-3')))).toMatchObject({
      ok: false,
      failure: 'SignatureDoesNotMatch',
    });
    expect(verifier(new Date('2015-08-30T12:42:00Z')).verify(received(form, form.authorization))).toMatchObject({
      ok: false,
      failure: 'RequestExpired',
    });
    const { rawHeaders, ...rest } = received(form, form.authorization);
    expect(verifier().verify({ ...rest, rawHeaders: rawHeaders.slice(0, -2) })).toMatchObject({
      ok: false,
      failure: 'MissingAuthenticationToken',
    });
  });

  it('refuses a declared payload hash that is not the body’s', () => {
    const request = received(form, form.authorization);
    request.rawHeaders.push('x-amz-content-sha256', '0'.repeat(64));
    expect(verifier().verify(request)).toMatchObject({ ok: false, failure: 'SignatureDoesNotMatch' });
  });
});
