import { App } from 'aws-cdk-lib';
import { configuredForDeploy } from './config.ts';
import { FairsendStack } from './stack.ts';

/** `npx cdk synth` / `cdk deploy`: FAIRSEND_CONFIG names the config file (default: the local demo). */
const { config, sendingDomains, warnings } = configuredForDeploy();
for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
const app = new App();
new FairsendStack(app, 'Fairsend', { config, sendingDomains, description: 'Fairsend compliant outbound mail gateway' });
