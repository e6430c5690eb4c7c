import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { serverCertificate } from '../../shared/tls.ts';

export interface TlsMaterial {
  key: string;
  cert: string;
  certFile: string;
  keyFile: string;
}

/**
 * The local stack's certificate: self-signed for localhost and 127.0.0.1, made on first start
 * and kept under .data/tls (never committed). Production configures a real one (smtp.tls).
 */
export async function localCertificate(dir: string): Promise<TlsMaterial> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    writeFileSync(certFile, pems.cert);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}

/** The configured certificate, read once at start as the production relay reads it. */
export function configuredCertificate(files: { keyFile: string; certFile: string }): TlsMaterial {
  return { ...files, ...serverCertificate(files, {}) };
}
