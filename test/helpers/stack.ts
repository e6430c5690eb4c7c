import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../infra/local/stack.ts';
import { localCertificate, type TlsMaterial } from '../../infra/local/tls.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig } from './config.ts';

let tls: Promise<TlsMaterial> | undefined;

export function testCertificate(): Promise<TlsMaterial> {
  // FAIRSEND_TEST_TLS_DIR: the parent's certificate, for a client in a child process to trust.
  tls ??= localCertificate(
    process.env.FAIRSEND_TEST_TLS_DIR ?? join(mkdtempSync(join(tmpdir(), 'fairsend-tls-')), 'tls'),
  );
  return tls;
}

/** The same local stack `npm start` runs, in memory, on ports the OS picks. */
export async function startTestStack(
  options: { config?: FairsendConfig } & Partial<Omit<LocalStackOptions, 'config' | 'tls'>> = {},
): Promise<LocalStack> {
  return startLocalStack({
    log: silentLogger,
    ...options,
    config: options.config ?? (await testConfig()),
    tls: await testCertificate(),
  });
}
