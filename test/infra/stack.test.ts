import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildStacks } from '../../infra/cdk/build.ts';
import { configuredForDeploy } from '../../infra/cdk/config.ts';
import { FairsendStack } from '../../infra/cdk/stack.ts';

/** The synthesized CloudFormation template (bundling skipped: it is exercised by `cdk synth`). */
let template: Template;
let json: string;
let prod: Template;
let app: App;
let stackConfig: ReturnType<typeof configuredForDeploy>['config'];

const PROD_EXAMPLE = 'infra/fairsend.prod.example.json';

beforeAll(() => {
  const { config, sendingDomains } = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: undefined });
  stackConfig = config;
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FairsendStack(app, 'Fairsend', { config, sendingDomains });
  template = Template.fromStack(stack);
  json = JSON.stringify(template.toJSON());
  // The shipped production example, with a footer template large enough to break a Lambda's 4 KB environment.
  const example = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: PROD_EXAMPLE });
  const big = {
    text: `${'Texte légal. '.repeat(400)}{{unsubscribeUrl}}`,
    html: `<p>${'Texte légal. '.repeat(400)}</p>`,
  };
  example.config.controllers.acme!.footerTemplates = { fr: big };
  const prodApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  prod = Template.fromStack(
    new FairsendStack(prodApp, 'FairsendProd', {
      config: example.config,
      sendingDomains: example.sendingDomains,
      env: { region: example.config.ses.region, account: '123456789012' },
    }),
  );
}, 120_000);

type Statement = { Action: string | string[]; Resource: unknown };
const statements = (): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );

describe('CDK stack', () => {
  it('creates the six tables with pk/sk, on demand, with point-in-time recovery, kept on delete', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 6);
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
    // SNS → SQS → Lambda: nothing is dropped after Lambda's retries; what fails for good waits in a DLQ, watched.
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10 });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    const dlqAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      JSON.stringify(a).includes('ApproximateNumberOfMessagesVisible'),
    );
    expect(dlqAlarms.length).toBeGreaterThanOrEqual(2);
  });

  it('gives the mailto function a dead-letter queue for what SES could not deliver to it', () => {
    const mailto = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f).includes('MailtoDeadLetters'),
    ) as { Properties: Record<string, unknown> } | undefined;
    expect(mailto?.Properties.DeadLetterConfig).toBeDefined();
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
    // Healthy means "can read the opposition list", checked over HTTP, not an open SMTP port.
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: '8080',
      HealthCheckPath: '/healthz',
    });
    // PROXY protocol v2 to the relay, which believes it from the VPC only: it sees each client's address.
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }]),
    });
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    expect(json).toContain('\\"proxyProtocol\\":{\\"trustedCidrs\\":[\\"10.0.0.0/16\\"]}');
    // No certificate yet (the demo): no task, so the first deploy completes; with one: the fleet.
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 0, LaunchType: 'FARGATE' });
    prod.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2, LaunchType: 'FARGATE' });
    // Only the configured client networks reach the balancer; the tasks only from the balancer.
    prod.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 587 })]),
    });
  });

  it('builds the relay image for ARM64, the task’s CPU', () => {
    const assembly = app.synth();
    const files = assembly.artifacts
      .filter((a) => a.manifest.type === 'cdk:asset-manifest')
      .map((a) => join(assembly.directory, (a.manifest.properties as { file: string }).file));
    const images = files.flatMap((file) =>
      Object.values(
        (JSON.parse(readFileSync(file, 'utf8')) as { dockerImages?: Record<string, { source: { platform?: string } }> })
          .dockerImages ?? {},
      ),
    );
    expect(images).toHaveLength(1);
    expect(images[0]!.source.platform).toBe('linux/arm64');
  });

  it('sends with the configuration set the stack made, with no password hash in the task definition', () => {
    const task = Object.values(prod.findResources('AWS::ECS::TaskDefinition'))[0] as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
    };
    const env = task.Properties.ContainerDefinitions[0]!.Environment;
    const relayConfig = JSON.parse(env.find((e) => e.Name === 'FAIRSEND_CONFIG_JSON')!.Value as string);
    expect(relayConfig.ses.configurationSet).toBe('fairsend');
    // The fleet shares the account's send rate.
    expect(relayConfig.ses.fleetWide).toBe(true);
    expect(JSON.stringify(relayConfig)).not.toMatch(/scrypt\$\d+\$/);
    expect(env.map((e) => e.Name)).toEqual(
      expect.arrayContaining(['FAIRSEND_SMTP_USERS_SECRET', 'FAIRSEND_TLS_SECRET', 'FAIRSEND_TOKEN_KEYS_SECRET']),
    );
  });

  it('keeps every Lambda environment under 4 KB, even with a large footer template', () => {
    for (const [id, fn] of Object.entries(prod.findResources('AWS::Lambda::Function'))) {
      const vars = (fn as { Properties: { Environment?: { Variables: Record<string, unknown> } } }).Properties
        .Environment?.Variables;
      const size = Object.entries(vars ?? {}).reduce((n, [k, v]) => n + k.length + JSON.stringify(v).length, 0);
      expect(size, id).toBeLessThan(4096);
    }
  });

  it('keeps logs for the configured time, and protects the tables from deletion', () => {
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect((group as { Properties: { RetentionInDays?: number } }).Properties.RetentionInDays).toBe(90);
    }
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).length).toBeGreaterThanOrEqual(4);
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(
        (table as { Properties: { DeletionProtectionEnabled?: boolean } }).Properties.DeletionProtectionEnabled,
      ).toBe(true);
    }
  });

  it('deletes expired items by TTL on every table but the opposition list, and keeps the erasure key', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as {
      Properties: { TableName: string; TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean } };
    }[];
    const ttl = Object.fromEntries(tables.map((t) => [t.Properties.TableName, t.Properties.TimeToLiveSpecification]));
    const names = stackConfig.dynamodb.tables;
    expect(ttl[names.oppositions]).toBeUndefined();
    for (const table of [names.contacts, names.sendLog, names.blockedSends, names.admin, names.audit]) {
      expect([table, ttl[table]]).toEqual([table, { AttributeName: 'expires', Enabled: true }]);
    }
    const secret = Object.values(template.findResources('AWS::SecretsManager::Secret')).find((s) =>
      JSON.stringify(s).includes('erasureKey'),
    ) as { DeletionPolicy: string };
    expect(secret.DeletionPolicy).toBe('Retain');
  });

  it('alarms on a spike of refused recipients, missing or unhealthy relay tasks, and shows the same figures on a dashboard', () => {
    const alarms = prod.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: Record<string, any> }>;
    const byId = (prefix: string) => Object.entries(alarms).find(([id]) => id.startsWith(prefix))?.[1].Properties;
    expect(byId('BlockedSendsSpikeAlarm')).toMatchObject({
      MetricName: 'BlockedSends',
      Namespace: 'Fairsend',
      Threshold: 200,
      Period: 3600,
    });
    expect(byId('RelayTasksMissingAlarm')).toMatchObject({
      MetricName: 'RunningTaskCount',
      Threshold: 2,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(byId('RelayUnhealthyAlarm')).toMatchObject({ MetricName: 'UnHealthyHostCount' });
    for (const alarm of Object.values(alarms)) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    prod.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.event = "blocked-send") && ($.outcome = "blocked") }',
      MetricTransformations: [
        { MetricNamespace: 'Fairsend', MetricName: 'BlockedSends', MetricValue: '1', DefaultValue: 0 },
      ],
    });
    const dashboard = JSON.stringify(prod.findResources('AWS::CloudWatch::Dashboard'));
    for (const figure of [
      'Reputation.BounceRate',
      'Reputation.ComplaintRate',
      'BlockedSends',
      'RunningTaskCount',
      'UnHealthyHostCount',
    ]) {
      expect(dashboard).toContain(figure);
    }
  });

  it('builds the cheaper variant on request: no NAT gateway, public task IPs, a small task; DynamoDB through a gateway endpoint', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    const example = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: PROD_EXAMPLE });
    example.config.deploy.network = 'public';
    example.config.deploy.relaySize = 'small';
    example.config.smtp.maxDataBytesInFlight = 256 * 1024 * 1024;
    const cheapApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const cheap = Template.fromStack(
      new FairsendStack(cheapApp, 'Cheap', {
        config: example.config,
        sendingDomains: example.sendingDomains,
        env: { region: example.config.ses.region, account: '123456789012' },
      }),
    );
    cheap.resourceCountIs('AWS::EC2::NatGateway', 0);
    cheap.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    cheap.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
    });
    cheap.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '1024' });
    // The tasks still take traffic only from the balancer.
    const ingress = JSON.stringify(cheap.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress).not.toContain('0.0.0.0/0');
  });

  it('receives the mailto unsubscribes where SES receives mail: Ireland for a Paris deployment, through SNS', () => {
    const example = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: PROD_EXAMPLE });
    const split = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const { main, mailto } = buildStacks(split, example, '123456789012');
    expect(main.region).toBe('eu-west-3');
    expect(mailto?.region).toBe('eu-west-1');
    const paris = Template.fromStack(main);
    const ireland = Template.fromStack(mailto!);
    paris.resourceCountIs('AWS::SES::ReceiptRule', 0);
    paris.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Region: 'eu-west-1',
      TopicArn: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':sns:eu-west-1:123456789012:fairsend-mailto-unsubscribe'],
        ],
      },
    });
    ireland.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({
        Recipients: [example.config.unsubscribe.mailto],
        ScanEnabled: true,
        Actions: [{ SNSAction: Match.objectLike({ Encoding: 'UTF-8' }) }],
      }),
    });
    ireland.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'fairsend-mailto-unsubscribe' });
    // In a region that receives mail, one stack and a direct Lambda action.
    const dublin = structuredClone(example);
    dublin.config.ses.region = 'eu-west-1';
    dublin.config.dynamodb.region = 'eu-west-1';
    const one = buildStacks(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), dublin, '123456789012');
    expect(one.mailto).toBeUndefined();
    Template.fromStack(one.main).hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({ Actions: [Match.objectLike({ LambdaAction: Match.anyValue() })] }),
    });
  });

  it("passes cdk-nag's AwsSolutions pack on the production example: every finding fixed or acknowledged with a reason", () => {
    const example = configuredForDeploy({ ...process.env, FAIRSEND_CONFIG: PROD_EXAMPLE });
    const nagged = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new FairsendStack(nagged, 'Fairsend', {
      config: example.config,
      sendingDomains: example.sendingDomains,
      env: { region: example.config.ses.region, account: '123456789012' },
    });
    Validations.of(nagged).addPlugins(new AwsSolutionsChecks(nagged));
    expect(() => nagged.synth()).not.toThrow();
  });

  it('refuses to deploy a production config pointing at local stand-ins', () => {
    expect(() =>
      configuredForDeploy({
        ...process.env,
        FAIRSEND_CONFIG: PROD_EXAMPLE,
        FAIRSEND__dynamodb__endpoint: 'http://127.0.0.1:8004',
        FAIRSEND__http__publicBaseUrl: 'http://127.0.0.1:8787',
        FAIRSEND__smtp__hostname: 'localhost',
      }),
    ).toThrow(
      /cannot be deployed:\n {2}dynamodb\.endpoint: .*\n {2}http\.publicBaseUrl: .*\n {2}smtp\.hostname: localhost/,
    );
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
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    const sesStatement = all.find((s) => ([] as string[]).concat(s.Action).includes('ses:SendEmail'))!;
    expect(JSON.stringify(sesStatement.Resource)).toContain('identity/exemple-conseil.example');
    expect(JSON.stringify(sesStatement.Resource)).not.toContain('"*"');
  });

  it('keeps secrets out of the template and out of environment variables; the token keys survive the stack', () => {
    expect(json).not.toMatch(/FAIRSEND__tokens/);
    expect(json).not.toContain('generated in Secrets Manager at deploy time');
    expect(json).not.toMatch(/scrypt\$\d+\$/);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const vars = (fn as { Properties: { Environment?: { Variables: Record<string, unknown> } } }).Properties
        .Environment?.Variables;
      expect(Object.keys(vars ?? {})).not.toContain('FAIRSEND_CONFIG_JSON');
    }
    const tokenSecret = Object.values(template.findResources('AWS::SecretsManager::Secret')).find((s) =>
      JSON.stringify(s).includes('GenerateStringKey'),
    ) as { DeletionPolicy: string; Properties: { GenerateSecretString: { GenerateStringKey: string } } };
    expect(tokenSecret.Properties.GenerateSecretString.GenerateStringKey).toBe('k1');
    expect(tokenSecret.DeletionPolicy).toBe('Retain');
  });
});
