import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

export interface ServerCertificate {
  key: string;
  cert: string;
}

/**
 * The relay's certificate, read once at start: from `FAIRSEND_TLS_KEY_PEM` / `FAIRSEND_TLS_CERT_PEM`
 * (ECS injects them from Secrets Manager), else from the files named by `smtp.tls`.
 */
export function serverCertificate(
  files: { keyFile: string; certFile: string } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ServerCertificate {
  if (env.FAIRSEND_TLS_KEY_PEM && env.FAIRSEND_TLS_CERT_PEM) {
    return { key: env.FAIRSEND_TLS_KEY_PEM, cert: env.FAIRSEND_TLS_CERT_PEM };
  }
  if (!files) {
    throw new ConfigError('smtp.tls: no certificate (set smtp.tls, or FAIRSEND_TLS_KEY_PEM and FAIRSEND_TLS_CERT_PEM)');
  }
  try {
    return { key: readFileSync(files.keyFile, 'utf8'), cert: readFileSync(files.certFile, 'utf8') };
  } catch (err) {
    throw new ConfigError(`smtp.tls: cannot read the certificate: ${(err as Error).message}`);
  }
}
