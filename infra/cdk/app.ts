import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../../shared/errors.ts';
import { buildStacks } from './build.ts';
import { configuredForDeploy } from './config.ts';

/** `npx cdk synth` / `cdk deploy`: FAIRSEND_CONFIG names the config file (default: the local demo). */
let deployed: ReturnType<typeof configuredForDeploy>;
try {
  deployed = configuredForDeploy();
} catch (err) {
  // A config that cannot be deployed says which fields and why, nothing more.
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
}
const { config, sendingDomains, warnings } = deployed;
for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
const app = new App();
// cdk-nag's AwsSolutions rules on every synth: a new finding fails it until fixed or acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// Pinned to the config's region: the tables, SES and the relay are in one place; the mailto
// receipt rule goes where SES receives mail (infra/cdk/build.ts).
buildStacks(app, { config, sendingDomains }, process.env.CDK_DEFAULT_ACCOUNT);
