import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs `npm run fairsend -- …` (infra/cli.ts) against a config file, as an admin would, and gives
 * its exit code and output. Asynchronously: in the tests DynamoDB (dynalite) answers from the
 * test's own process, which a synchronous spawn would block. Standard input is `input` (empty by
 * default), then closed, as a pipe from another command would be.
 */
export async function runCli(
  configFile: string,
  dataDir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliWithInput(configFile, dataDir, '', ...args);
}

export function runCliWithInput(
  configFile: string,
  dataDir: string,
  input: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/cli.ts', ...args],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          FAIRSEND_CONFIG: configFile,
          FAIRSEND_DATA_DIR: join(dataDir, 'data'),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}
