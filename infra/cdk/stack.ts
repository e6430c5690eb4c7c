import { fileURLToPath } from 'node:url';
import {
  aws_apigatewayv2 as apigw,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_dynamodb as dynamodb,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_apigatewayv2_integrations as integrations,
  aws_lambda as lambda,
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_secretsmanager as secretsmanager,
  aws_ses as ses,
  aws_ses_actions as sesActions,
  aws_sns as sns,
  aws_sns_subscriptions as subscriptions,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FairsendConfig } from '../../shared/config.ts';
import { TABLE_SPECS } from '../../shared/stores/dynamo.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FairsendStackProps extends StackProps {
  /** The validated config (the same schema as everywhere), without secrets. */
  config: FairsendConfig;
  /** SES identities (domains) the relay may send from. */
  sendingDomains: string[];
}

/**
 * Fairsend in AWS: DynamoDB tables, SES configuration set with its SNS event destination, the
 * three Lambdas (unsubscribe behind an HTTP API, ses-events on SNS, mailto-unsubscribe on an SES
 * receipt rule), and the SMTP relay on ECS Fargate behind a Network Load Balancer. Every grant is
 * the actions each piece calls, on its own tables.
 */
export class FairsendStack extends Stack {
  constructor(scope: Construct, id: string, props: FairsendStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = config.dynamodb.tables;

    // The same keys as the local stack's tables (shared/stores/dynamo.ts TABLE_SPECS).
    const table = (id: string, kind: keyof typeof TABLE_SPECS) =>
      new dynamodb.Table(this, id, {
        tableName: names[kind],
        partitionKey: { name: TABLE_SPECS[kind].partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: TABLE_SPECS[kind].sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        // The opposition list and the logs are legal records: never deleted with the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const oppositions = table('Oppositions', 'oppositions');
    const blockedSends = table('BlockedSends', 'blockedSends');
    const sendLog = table('SendLog', 'sendLog');
    const contacts = table('Contacts', 'contacts');

    const tokenKeys = new secretsmanager.Secret(this, 'TokenKeys', {
      description: 'Fairsend unsubscribe-token keys: {"<key id>": "<secret>"}; add a key to rotate',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: config.tokens.activeKeyId,
        passwordLength: 48,
        excludePunctuation: true,
      },
    });
    const tlsSecret = new secretsmanager.Secret(this, 'TlsCertificate', {
      description:
        'Fairsend SMTP certificate: {"key": "<PEM>", "cert": "<PEM chain>"}; fill in before the relay starts',
    });

    // SES: configuration set, events to SNS, reputation alarms.
    const configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: config.ses.configurationSet ?? 'fairsend',
      reputationMetrics: true,
    });
    const events = new sns.Topic(this, 'SesEvents', { displayName: 'Fairsend SES events' });
    configurationSet.addEventDestination('ToSns', {
      destination: ses.EventDestination.snsTopic(events),
      events: [ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT, ses.EmailSendingEvent.DELIVERY],
    });
    const reputationAlarm = (id: string, metricName: string, threshold: number, description: string) =>
      new cloudwatch.Alarm(this, id, {
        metric: new cloudwatch.Metric({
          namespace: 'AWS/SES',
          metricName,
          period: Duration.hours(1),
          statistic: 'Average',
        }),
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: description,
      });
    reputationAlarm(
      'BounceRateAlarm',
      'Reputation.BounceRate',
      0.05,
      'SES bounce rate ≥ 5 % (SES reviews accounts at 10 %)',
    );
    reputationAlarm(
      'ComplaintRateAlarm',
      'Reputation.ComplaintRate',
      0.001,
      'Complaint rate ≥ 0.1 % (Gmail and Yahoo require < 0.3 %)',
    );

    // Lambdas: the config without secrets or SMTP users; the token keys from Secrets Manager.
    const lambdaConfig = JSON.stringify({ ...config, smtpUsers: {}, tokens: { ...config.tokens, keys: {} } });
    const fn = (id: string, entry: string) => {
      const f = new nodejs.NodejsFunction(this, id, {
        entry: `${ROOT}lambdas/${entry}/index.ts`,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.seconds(15),
        environment: {
          FAIRSEND_CONFIG_JSON: lambdaConfig,
          FAIRSEND_TOKEN_KEYS_SECRET: tokenKeys.secretArn,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        bundling: {
          format: nodejs.OutputFormat.ESM,
          minify: true,
          sourceMap: true,
          target: 'node20',
          mainFields: ['module', 'main'],
        },
      });
      tokenKeys.grantRead(f);
      return f;
    };
    const grant = (target: iam.IGrantable, on: dynamodb.Table, ...actions: string[]) =>
      on.grant(target, ...actions.map((a) => `dynamodb:${a}`));

    const unsubscribe = fn('Unsubscribe', 'unsubscribe');
    grant(unsubscribe, oppositions, 'PutItem', 'Query');
    const api = new apigw.HttpApi(this, 'UnsubscribeApi', { description: 'Fairsend unsubscribe links (RFC 8058)' });
    api.addRoutes({
      path: '/u/{token}',
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.HEAD, apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('UnsubscribeIntegration', unsubscribe),
    });

    const sesEvents = fn('SesEventsHandler', 'ses-events');
    grant(sesEvents, oppositions, 'PutItem', 'Query');
    grant(sesEvents, sendLog, 'PutItem', 'Query');
    events.addSubscription(new subscriptions.LambdaSubscription(sesEvents));

    if (config.unsubscribe.mailto) {
      const mailto = fn('MailtoUnsubscribe', 'mailto-unsubscribe');
      grant(mailto, oppositions, 'PutItem', 'Query');
      const ruleSet = new ses.ReceiptRuleSet(this, 'UnsubscribeRuleSet');
      ruleSet.addRule('MailtoUnsubscribe', {
        recipients: [config.unsubscribe.mailto],
        scanEnabled: true,
        actions: [new sesActions.Lambda({ function: mailto, invocationType: sesActions.LambdaInvocationType.EVENT })],
      });
    }

    // The relay: Fargate behind a Network Load Balancer (SMTP is a long-lived TCP service).
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const task = new ecs.FargateTaskDefinition(this, 'RelayTask', {
      cpu: 1024,
      memoryLimitMiB: 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const relayConfig = {
      ...config,
      tokens: { ...config.tokens, keys: {} },
      smtp: { ...config.smtp, host: '0.0.0.0', tls: undefined },
    };
    task.addContainer('relay', {
      image: ecs.ContainerImage.fromAsset(ROOT, {
        exclude: ['node_modules', '.data', 'cdk.out', 'test-results', '.git'],
      }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'relay' }),
      environment: {
        FAIRSEND_CONFIG_JSON: JSON.stringify(relayConfig),
        FAIRSEND_TOKEN_KEYS_SECRET: tokenKeys.secretArn,
      },
      secrets: {
        FAIRSEND_TLS_KEY_PEM: ecs.Secret.fromSecretsManager(tlsSecret, 'key'),
        FAIRSEND_TLS_CERT_PEM: ecs.Secret.fromSecretsManager(tlsSecret, 'cert'),
      },
      portMappings: [{ containerPort: config.smtp.starttlsPort }, { containerPort: config.smtp.implicitTlsPort }],
      stopTimeout: Duration.seconds(Math.ceil(config.smtp.closeTimeoutMs / 1000) + 5),
    });
    tokenKeys.grantRead(task.taskRole);
    grant(task.taskRole, oppositions, 'BatchGetItem');
    grant(task.taskRole, blockedSends, 'PutItem', 'UpdateItem');
    grant(task.taskRole, sendLog, 'BatchGetItem', 'BatchWriteItem');
    grant(task.taskRole, contacts, 'BatchGetItem', 'UpdateItem');
    task.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          ...props.sendingDomains.map((d) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: d })),
          this.formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: configurationSet.configurationSetName,
          }),
        ],
      }),
    );

    const service = new ecs.FargateService(this, 'Relay', {
      cluster,
      taskDefinition: task,
      desiredCount: 2,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
    });
    const nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', { vpc, internetFacing: true });
    for (const [name, port] of [
      ['Submission', config.smtp.starttlsPort],
      ['Submissions', config.smtp.implicitTlsPort],
    ] as const) {
      const publicPort = name === 'Submission' ? 587 : 465;
      const listener = nlb.addListener(name, { port: publicPort, protocol: elbv2.Protocol.TCP });
      listener.addTargets(`${name}Targets`, {
        port,
        protocol: elbv2.Protocol.TCP,
        targets: [service.loadBalancerTarget({ containerName: 'relay', containerPort: port })],
        healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10) },
        deregistrationDelay: Duration.seconds(Math.ceil(config.smtp.closeTimeoutMs / 1000)),
      });
      service.connections.allowFrom(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `SMTP ${name} through the NLB`);
    }
    const scaling = service.autoScaleTaskCount({ minCapacity: 2, maxCapacity: 10 });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    new CfnOutput(this, 'SmtpEndpoint', {
      value: nlb.loadBalancerDnsName,
      description: 'Point mail tools here: 587 STARTTLS, 465 TLS',
    });
    new CfnOutput(this, 'UnsubscribeBaseUrl', {
      value: api.apiEndpoint,
      description: 'Set http.publicBaseUrl to this (or a custom domain on it)',
    });
    new CfnOutput(this, 'TlsSecretArn', {
      value: tlsSecret.secretArn,
      description: 'Put the SMTP certificate here: {"key", "cert"}',
    });
  }
}
