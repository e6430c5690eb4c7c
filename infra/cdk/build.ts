import type { App } from 'aws-cdk-lib';
import type { FairsendConfig } from '../../shared/config.ts';
import { FairsendMailtoStack, mailtoRegionFor } from './mailto-stack.ts';
import { FairsendStack } from './stack.ts';

/**
 * The stacks one config deploys: Fairsend in the config's region (tables, SES, relay, functions
 * are in one place), and, when the `mailto:` unsubscribe address must be received in another region
 * (SES does not receive mail in Paris), a small FairsendMailto stack there, deployed first
 * (`cdk deploy --all` orders them).
 */
export function buildStacks(
  app: App,
  deployed: { config: FairsendConfig; sendingDomains: string[] },
  account?: string,
) {
  const { config, sendingDomains } = deployed;
  const region = config.ses.region;
  const mailtoRegion = config.unsubscribe.mailto ? mailtoRegionFor(region, config.deploy.mailtoRegion) : region;
  const main = new FairsendStack(app, 'Fairsend', {
    config,
    sendingDomains,
    mailtoRegion,
    description: 'Fairsend compliant outbound mail gateway',
    env: { region, account },
  });
  let mailto: FairsendMailtoStack | undefined;
  if (config.unsubscribe.mailto && mailtoRegion !== region) {
    mailto = new FairsendMailtoStack(app, 'FairsendMailto', {
      mailto: config.unsubscribe.mailto,
      description: `Fairsend: receives mail to ${config.unsubscribe.mailto} (SES does not receive mail in ${region})`,
      env: { region: mailtoRegion, account },
    });
    main.addStackDependency(mailto);
  }
  return { main, mailto };
}
