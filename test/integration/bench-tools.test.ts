import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import type { LocalStack } from '../../infra/local/stack.ts';
import { benchConfig, type StandInProcess, startDynamoProcess, startProbe } from '../bench/backends.ts';
import { runLoad } from '../bench/client.ts';
import { message20k } from '../bench/messages.ts';
import { type RelayChild, startRelayChild } from '../helpers/relay-child.ts';
import { startTestStack, testCertificate } from '../helpers/stack.ts';

/** The benchmark's tools as a developer runs them: usage errors, and a profile of a warm window. */
function run(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A relay in a process of its own and its stand-ins, as a test starts them; stopped after the describe's tests. */
function stoppedAfterAll(): { dynamo?: StandInProcess; ses?: SesStandIn; relay?: RelayChild } {
  const started: { dynamo?: StandInProcess; ses?: SesStandIn; relay?: RelayChild } = {};
  afterAll(async () => {
    await started.relay?.kill();
    started.dynamo?.proc.kill();
    await started.ses?.close();
  });
  return started;
}

describe('npm run bench:profile and bench:ab', () => {
  it('answer bad arguments with their usage and exit code 2, before starting anything', async () => {
    const [profile, negativeWarm, tooMany, noRevision, badRevision, badNumber] = await Promise.all([
      run('test/bench/profile.ts', '1', 'x'),
      run('test/bench/profile.ts', '1', '1', '10', '-5'),
      run('test/bench/profile.ts', '1', '1', '10', '30', '7'),
      run('test/bench/ab.ts'),
      run('test/bench/ab.ts', 'no-such-revision-anywhere'),
      run('test/bench/ab.ts', 'HEAD', '1', '0'),
    ]);
    expect(profile.code).toBe(2);
    expect(profile.stderr).toMatch(
      /^usage: npm run bench:profile -- \[recipients\] \[connections\] \[seconds\] \[warm seconds\]/,
    );
    expect(negativeWarm.code).toBe(2);
    expect(tooMany.code).toBe(2);

    expect(noRevision.code).toBe(2);
    expect(noRevision.stderr).toMatch(
      /^a git revision to compare with is required\nusage: npm run bench:ab -- <git revision>/,
    );
    expect(badRevision.code).toBe(2);
    expect(badRevision.stderr).toMatch(/^not a commit in this repository: no-such-revision-anywhere/);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/whole numbers above 0: 1 0/);
  });

  describe('the relay process profiled over IPC', () => {
    const running = stoppedAfterAll();

    it('profiles only the window between start and stop, while it sends', async () => {
      const dynamo = await startDynamoProcess();
      running.dynamo = dynamo;
      const ses = new SesStandIn(undefined, { keepMessages: false, region: 'eu-west-3' });
      running.ses = ses;
      const config = await benchConfig(dynamo.port, (await ses.listen()).port);
      const relay = await startRelayChild(config, await testCertificate());
      running.relay = relay;
      const target = { name: 'relay', port: relay.ports.starttls, secure: true };
      const body = await message20k();
      const load = () =>
        runLoad({ target, connections: 1, pooled: true, recipients: 1, seconds: 20, maxMessages: 5, body });
      // Asked to stop with none running: an error for the caller, and the relay keeps serving.
      await expect(relay.stopProfile(join(tmpdir(), 'none.cpuprofile'))).rejects.toThrow(/no profile is running/);
      expect((await load()).errors).toBe(0); // before the profile: not in it
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const file = join(mkdtempSync(join(tmpdir(), 'fairsend-profile-')), 'relay.cpuprofile');
      const started = performance.now();
      await relay.startProfile();
      const sent = await load();
      await relay.stopProfile(file);
      const windowMs = performance.now() - started;
      expect(sent).toMatchObject({ messages: 5, errors: 0 });

      const profile = JSON.parse(readFileSync(file, 'utf8')) as {
        nodes: { id: number; callFrame: { functionName: string; url: string } }[];
        samples: number[];
        startTime: number;
        endTime: number;
      };
      expect(profile.samples.length).toBeGreaterThan(0);
      // The relay's own delivery code ran in it, and it covers the window asked for: not the
      // start-up, the load before it or the 1.5 s of idling after that (times in µs).
      expect(profile.nodes.some((n) => n.callFrame.url.endsWith('proxy/message-pipeline.ts'))).toBe(true);
      expect((profile.endTime - profile.startTime) / 1000).toBeLessThanOrEqual(windowMs);
    });
  });
});

describe("the encrypted peer comparison's stand-ins, serving HTTPS", () => {
  const running = stoppedAfterAll();

  it('answer a --tls-dir without key.pem and cert.pem with what is missing and exit code 2', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'fairsend-no-tls-'));
    const bad = await run('test/bench/stand-in-process.ts', '--service', 'ses', '--tls-dir', empty);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^--tls-dir .*: cannot read key\.pem and cert\.pem there \(ENOENT/);
  });

  it('take a relay that trusts their certificate end to end, and nothing in plain text', async () => {
    const tls = await testCertificate();
    const dynamo = await startDynamoProcess(0, { tlsDir: dirname(tls.certFile) });
    running.dynamo = dynamo;
    const ses = new SesStandIn(undefined, { region: 'eu-west-3', tls: { key: tls.key, cert: tls.cert } });
    running.ses = ses;
    const sesPort = (await ses.listen()).port;
    // The tables are made over HTTPS too, by an SDK client trusting the certificate.
    const config = await benchConfig(dynamo.port, sesPort, { https: { cert: tls.cert } });
    expect(config.dynamodb.endpoint).toBe(`https://127.0.0.1:${dynamo.port}`);
    expect(config.ses.endpoint).toBe(`https://127.0.0.1:${sesPort}`);
    // Plain HTTP to either: no answer a client could read.
    for (const port of [dynamo.port, sesPort]) {
      const plain = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }).then(
        (res) => res.status,
        (err: Error) => err.message,
      );
      expect(plain === 'fetch failed' || plain === 400).toBe(true);
    }

    const relay = await startRelayChild(config, tls, { env: { NODE_EXTRA_CA_CERTS: tls.certFile } });

    running.relay = relay;
    const target = { name: 'relay', port: relay.ports.starttls, secure: true };
    const body = await message20k();
    const sent = await runLoad({
      target,
      connections: 1,
      pooled: true,
      recipients: 2,
      seconds: 20,
      maxMessages: 3,
      body,
    });
    expect(sent).toMatchObject({ messages: 3, errors: 0 });
    // Each copy reached SES over HTTPS, signed; the opposition reads and the send log went to DynamoDB.
    expect(ses.messages.length).toBe(6);
    const stats = await relay.stats();
    expect(Object.values(stats.dynamo.requests).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3 * 3);
  });
});

describe("the floods' other client (test/bench/probe-process.ts)", () => {
  let stack: LocalStack | undefined;
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a bad port with its usage and exit code 2', async () => {
    const bad = await run('test/bench/probe-process.ts', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^usage: probe-process\.ts <port>/);
  });

  it('sends small messages from another address until stopped, and says how long each took', async () => {
    stack = await startTestStack();
    const tls = await testCertificate();
    const probe = await startProbe(stack.smtp.starttls.port, dirname(tls.certFile));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const result = await probe.stop();
    expect(result.errors).toEqual([]);
    expect(result.times.length).toBeGreaterThan(0);
    expect(Object.keys(result.slowest)).toEqual(['MAIL', 'RCPT', 'DATA', 'end of DATA']);
    // Every message went to SES, each copy to its probe recipient.
    expect(stack.ses!.messages.length).toBe(result.times.length);
    expect(stack.ses!.messages.every((m) => /^probe\d+@client\.example$/.test(m.destination[0]!))).toBe(true);
  });
});
