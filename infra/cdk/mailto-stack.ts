import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/**
 * SES receives mail in a few regions only (us-east-1, us-west-2, eu-west-1 when this was written;
 * not Paris). Where the sending region cannot receive, this small stack, in a receiving region,
 * holds the receipt rule for the `mailto:` unsubscribe address: it publishes each message to an SNS
 * topic, to which the main stack subscribes its mailto-unsubscribe function across regions. The
 * function, the tables and the secrets stay in the sending region.
 */
export const MAILTO_TOPIC = 'fairsend-mailto-unsubscribe';
export const SES_RECEIVING_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

/** Where the receipt rule goes: `deploy.mailtoRegion`, else the sending region if it receives, else Ireland. */
export function mailtoRegionFor(sendingRegion: string, configured?: string): string {
  return configured ?? (SES_RECEIVING_REGIONS.includes(sendingRegion) ? sendingRegion : 'eu-west-1');
}

export interface FairsendMailtoStackProps extends StackProps {
  mailto: string;
}

export class FairsendMailtoStack extends Stack {
  constructor(scope: Construct, id: string, props: FairsendMailtoStackProps) {
    super(scope, id, props);
    const topic = new sns.Topic(this, 'MailtoUnsubscribes', {
      topicName: MAILTO_TOPIC,
      displayName: 'Fairsend mailto unsubscribes',
      enforceSSL: true,
    });
    const ruleSet = new ses.ReceiptRuleSet(this, 'UnsubscribeRuleSet');
    ruleSet.addRule('MailtoUnsubscribe', {
      recipients: [props.mailto],
      scanEnabled: true,
      actions: [new sesActions.Sns({ topic, encoding: sesActions.EmailEncoding.UTF8 })],
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SNS2',
      reason:
        'The notification carries an unsubscribe request (a token and the sender address), the same data the function stores; SSE with the AWS-managed key would need a key policy for SES, for no gain.',
    });
  }
}
