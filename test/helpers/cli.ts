import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs `npm run fairsend -- …` (infra/cli.ts) against a config file, as an admin would, and gives
 * its exit code and output. Asynchronously: in the tests DynamoDB (dynalite) answers from the
 * test's own process, which a synchronous spawn would block.
 */
export async function runCli(
  configFile: string,
  dataDir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/cli.ts', ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      FAIRSEND_CONFIG: configFile,
      FAIRSEND_DATA_DIR: join(dataDir, 'data'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
