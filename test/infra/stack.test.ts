import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { configuredForDeploy } from '../../infra/cdk/config.ts';
import { FairsendStack } from '../../infra/cdk/stack.ts';

/** The synthesized CloudFormation template (bundling skipped: it is exercised by `cdk synth`). */
let template: Template;
let json: string;

beforeAll(() => {
  const { config, sendingDomains } = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: undefined });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FairsendStack(app, 'Fairsend', { config, sendingDomains });
  template = Template.fromStack(stack);
  json = JSON.stringify(template.toJSON());
}, 120_000);

type Statement = { Action: string | string[]; Resource: unknown };
const statements = (): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );

describe('CDK stack', () => {
  it('creates the four tables with pk/sk, on demand, with point-in-time recovery, kept on delete', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    const tables = template.findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables) as { DeletionPolicy: string; Properties: Record<string, any> }[]) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('routes GET, HEAD and POST /u/{token} to the unsubscribe function', () => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${method} /u/{token}` });
    }
  });

  it('publishes bounces, complaints and deliveries to SNS, and SNS invokes the ses-events function', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: Match.objectLike({
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['bounce', 'complaint', 'delivery']),
        SnsDestination: Match.anyValue(),
      }),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda' });
  });

  it('delivers mail to the unsubscribe address to the mailto function', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({
        Recipients: ['unsubscribe@exemple-conseil.example'],
        Actions: [Match.objectLike({ LambdaAction: Match.objectLike({ InvocationType: 'Event' }) })],
      }),
    });
  });

  it('puts the relay behind an NLB on 587 and 465', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network' });
    for (const port of [587, 465]) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: port, Protocol: 'TCP' });
    }
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2, LaunchType: 'FARGATE' });
  });

  it('grants least privilege: no wildcard actions, SES sending only from the configured identities', () => {
    const all = statements();
    for (const s of all) {
      const actions = ([] as string[]).concat(s.Action);
      expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
    }
    const dynamoActions = new Set(
      all.flatMap((s) => ([] as string[]).concat(s.Action)).filter((a) => a.startsWith('dynamodb:')),
    );
    expect([...dynamoActions].sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    const sesStatement = all.find((s) => ([] as string[]).concat(s.Action).includes('ses:SendEmail'))!;
    expect(JSON.stringify(sesStatement.Resource)).toContain('identity/exemple-conseil.example');
    expect(JSON.stringify(sesStatement.Resource)).not.toContain('"*"');
  });

  it('keeps secrets out of the template and out of environment variables', () => {
    expect(json).not.toMatch(/FAIRSEND__tokens/);
    expect(json).not.toContain('generated in Secrets Manager at deploy time');
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    const config = JSON.parse(fn.Properties.Environment.Variables.FAIRSEND_CONFIG_JSON as string);
    expect(config.tokens.keys).toEqual({});
    expect(config.smtpUsers).toEqual({});
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'k1' }),
    });
  });
});
