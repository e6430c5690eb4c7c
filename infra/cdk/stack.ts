import { fileURLToPath } from 'node:url';
import {
  aws_apigatewayv2 as apigw,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_dynamodb as dynamodb,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  aws_elasticloadbalancingv2 as elbv2,
  aws_lambda_event_sources as eventSources,
  aws_iam as iam,
  aws_apigatewayv2_integrations as integrations,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  aws_secretsmanager as secretsmanager,
  aws_ses as ses,
  aws_ses_actions as sesActions,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type { Construct } from 'constructs';
import type { FairsendConfig } from '../../shared/config.ts';
import { TABLE_SPECS } from '../../shared/stores/dynamo.ts';
import { MAILTO_TOPIC } from './mailto-stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The relay's health endpoint (proxy/health.ts), for the load balancer. */
const HEALTH_PORT = 8080;

export interface FairsendStackProps extends StackProps {
  /** The validated config (the same schema as everywhere), without secrets. */
  config: FairsendConfig;
  /** SES identities (domains) the relay may send from. */
  sendingDomains: string[];
  /** Where the mailto receipt rule lives (infra/cdk/mailto-stack.ts); this stack's region by default. */
  mailtoRegion?: string;
}

/**
 * Fairsend in AWS: DynamoDB tables, SES configuration set with its SNS event destination, the
 * three Lambdas (unsubscribe behind an HTTP API, ses-events on SNS, mailto-unsubscribe on an SES
 * receipt rule), and the SMTP relay on ECS Fargate behind a Network Load Balancer. Every grant is
 * the actions each piece calls, on its own tables.
 */
/** The VPC's network: the relay believes PROXY protocol headers from it only. */
const VPC_CIDR = '10.0.0.0/16';

export class FairsendStack extends Stack {
  constructor(scope: Construct, id: string, props: FairsendStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = config.dynamodb.tables;

    // The same keys as the local stack's tables (shared/stores/dynamo.ts TABLE_SPECS).
    const table = (id: string, kind: keyof typeof TABLE_SPECS, timeToLiveAttribute?: string) => {
      const spec = TABLE_SPECS[kind];
      const t = new dynamodb.Table(this, id, {
        tableName: names[kind],
        partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: spec.sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        // The opposition list and the logs are legal records: never deleted with the stack, nor by hand.
        removalPolicy: RemovalPolicy.RETAIN,
        deletionProtection: true,
        ...(timeToLiveAttribute ? { timeToLiveAttribute } : {}),
      });
      // The console's lists: one index per access pattern (shared/stores/dynamo.ts).
      for (const [indexName, index] of Object.entries(spec.indexes)) {
        t.addGlobalSecondaryIndex({
          indexName,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      return t;
    };
    // Every item that must go carries `expires` (epoch seconds, shared/retention.ts) and TTL deletes
    // it; oppositions have no TTL: they are honoured for as long as they exist.
    const oppositions = table('Oppositions', 'oppositions');
    const blockedSends = table('BlockedSends', 'blockedSends', 'expires');
    const sendLog = table('SendLog', 'sendLog', 'expires');
    const contacts = table('Contacts', 'contacts', 'expires');
    const admin = table('Admin', 'admin', 'expires');
    const audit = table('AuditTrail', 'audit', 'expires');

    // Secrets, all kept when the stack goes (links in sent mail must keep working):
    // the unsubscribe-token keys, generated once under a fixed key id, so changing
    // tokens.activeKeyId later (after adding a key by hand) never regenerates them;
    const tokenKeys = new secretsmanager.Secret(this, 'TokenKeys', {
      description:
        'Fairsend unsubscribe-token keys: {"<key id>": "<secret>"}; add a key, then point tokens.activeKeyId at it',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: config.deploy.initialTokenKeyId,
        passwordLength: 48,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // the SMTP users' scrypt hashes ({"<user>": "scrypt$…"}), out of the template and the task definition;
    const smtpUserHashes = new secretsmanager.Secret(this, 'SmtpUserHashes', {
      description: 'Fairsend SMTP users: {"<user>": "<scrypt hash from npm run fairsend -- hash-password>"}',
      secretObjectValue: {},
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // the SMTP certificate: an existing secret of the operator's, or an empty one to fill in. The
    // relay runs no task until it holds a certificate, so a first deploy always completes.
    const tlsSecret = config.deploy.tlsSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'TlsCertificate', config.deploy.tlsSecretArn)
      : new secretsmanager.Secret(this, 'TlsCertificate', {
          description: 'Fairsend SMTP certificate: {"key": "<PEM>", "cert": "<PEM chain>"}',
          secretObjectValue: { key: SecretValue.unsafePlainText(''), cert: SecretValue.unsafePlainText('') },
          removalPolicy: RemovalPolicy.RETAIN,
        });
    const relayTasks = config.deploy.tlsSecretArn ? config.deploy.relayTasks : 0;
    // and the key of erased people's keyed hashes: generated once, never rotated (earlier hashes
    // would no longer match), kept with the tables whose entries depend on it.
    const erasureKey = new secretsmanager.Secret(this, 'ErasureKey', {
      description:
        'Fairsend privacy.erasureKey: the HMAC key erased people’s oppositions are kept under. Never change it.',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Alarms notify someone: an SNS topic, e-mailed when the config names an address.
    const alarms = new sns.Topic(this, 'Alarms', { displayName: 'Fairsend alarms', enforceSSL: true });
    if (config.deploy.alarmEmail) alarms.addSubscription(new subscriptions.EmailSubscription(config.deploy.alarmEmail));
    const notify = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(new cwActions.SnsAction(alarms));
      return alarm;
    };
    /** An alarm as soon as the metric reaches `threshold` in one period, sent to the alarm topic. */
    const alarmAt = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) =>
      notify(
        new cloudwatch.Alarm(this, id, {
          metric,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          alarmDescription: description,
        }),
      );
    const retention = retentionFor(config.deploy.logRetentionDays);

    // SES: configuration set, events to SNS, reputation alarms.
    const setName = config.ses.configurationSet ?? 'fairsend';
    const configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: setName,
      reputationMetrics: true,
    });
    const events = new sns.Topic(this, 'SesEvents', { displayName: 'Fairsend SES events', enforceSSL: true });
    configurationSet.addEventDestination('ToSns', {
      destination: ses.EventDestination.snsTopic(events),
      events: [ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT, ses.EmailSendingEvent.DELIVERY],
    });
    const reputationAlarm = (id: string, metricName: string, threshold: number, description: string) =>
      alarmAt(
        id,
        new cloudwatch.Metric({ namespace: 'AWS/SES', metricName, period: Duration.hours(1), statistic: 'Average' }),
        threshold,
        description,
      );
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

    // Lambdas: the config without secrets or SMTP users, bundled into the code (a Lambda's
    // environment is limited to 4 KB); the token keys from Secrets Manager.
    const lambdaConfig = JSON.stringify({ ...config, smtpUsers: {}, tokens: { ...config.tokens, keys: {} } });
    const fn = (id: string, entry: string, options: Partial<nodejs.NodejsFunctionProps> = {}) => {
      const f = new nodejs.NodejsFunction(this, id, {
        entry: `${ROOT}lambdas/${entry}/index.ts`,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.seconds(15),
        logGroup: new logs.LogGroup(this, `${id}Logs`, { retention, removalPolicy: RemovalPolicy.DESTROY }),
        environment: {
          FAIRSEND_TOKEN_KEYS_SECRET: tokenKeys.secretArn,
          FAIRSEND_ERASURE_KEY_SECRET: erasureKey.secretArn,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        bundling: {
          format: nodejs.OutputFormat.ESM,
          minify: true,
          sourceMap: true,
          target: 'node22',
          mainFields: ['module', 'main'],
          define: { 'process.env.FAIRSEND_CONFIG_JSON': JSON.stringify(lambdaConfig) },
        },
        ...options,
      });
      tokenKeys.grantRead(f);
      erasureKey.grantRead(f);
      alarmAt(`${id}Errors`, f.metricErrors({ period: Duration.minutes(5) }), 1, `Fairsend ${entry} function errors`);
      return f;
    };
    /** A queue's dead letters are records that failed for good: someone must look (and redrive). */
    const deadLetters = (id: string, what: string) => {
      const queue = new sqs.Queue(this, id, {
        retentionPeriod: Duration.days(14),
        enforceSSL: true,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
      alarmAt(
        `${id}Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        1,
        `${what} failed for good: see the README (redrive) before the queue's 14 days run out`,
      );
      return queue;
    };
    /** These actions on this table only (not its indexes: CDK's table.grant would add `index/*`). */
    const grant = (target: iam.IGrantable, on: dynamodb.Table, ...actions: string[]) =>
      target.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [on.tableArn] }),
      );
    /** Query on the named indexes of a table, each by name. */
    const grantIndexes = (target: iam.IGrantable, on: dynamodb.Table, kind: keyof typeof TABLE_SPECS) =>
      target.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: Object.keys(TABLE_SPECS[kind].indexes).map((name) => `${on.tableArn}/index/${name}`),
        }),
      );

    const unsubscribe = fn('Unsubscribe', 'unsubscribe');
    // BatchGetItem: the opposition check of the link's person (and of an erased person's keyed hash).
    grant(unsubscribe, oppositions, 'PutItem', 'Query', 'BatchGetItem');
    const api = new apigw.HttpApi(this, 'UnsubscribeApi', {
      description: 'Fairsend unsubscribe links (RFC 8058) and the admin console',
    });
    api.addRoutes({
      path: '/u/{token}',
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.HEAD, apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('UnsubscribeIntegration', unsubscribe),
    });

    // The admin console and its JSON API: the same handler as `npm start`'s, every route behind
    // its own session check (no anonymous route but the login form).
    const adminConsole = fn('AdminConsole', 'admin', { timeout: Duration.seconds(29), memorySize: 512 });
    // Erasure deletes a person's items (BatchWriteItem of deletes); the register counts by Query.
    grant(adminConsole, blockedSends, 'Query', 'GetItem', 'UpdateItem', 'BatchWriteItem');
    grant(adminConsole, sendLog, 'Query', 'BatchGetItem', 'BatchWriteItem');
    grant(adminConsole, oppositions, 'Query', 'PutItem', 'DeleteItem', 'BatchGetItem');
    grant(adminConsole, contacts, 'BatchGetItem', 'UpdateItem', 'Query', 'BatchWriteItem');
    grant(adminConsole, admin, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query');
    // The audit trail is append-only: Put (with a does-not-exist condition) and Query, never Update or Delete.
    grant(adminConsole, audit, 'PutItem', 'Query');
    grantIndexes(adminConsole, blockedSends, 'blockedSends');
    grantIndexes(adminConsole, sendLog, 'sendLog');
    grantIndexes(adminConsole, oppositions, 'oppositions');
    grantIndexes(adminConsole, audit, 'audit');
    grantIndexes(adminConsole, contacts, 'contacts');
    const adminIntegration = new integrations.HttpLambdaIntegration('AdminIntegration', adminConsole);
    api.addRoutes({ path: '/admin', methods: [apigw.HttpMethod.ANY], integration: adminIntegration });
    api.addRoutes({ path: '/admin/{proxy+}', methods: [apigw.HttpMethod.ANY], integration: adminIntegration });

    // SES events: SNS → SQS → Lambda. The queue holds what Lambda cannot take now; after 5
    // tries a record goes to the dead-letter queue (a complaint or a hard bounce is a legal record:
    // never dropped after Lambda's own retries).
    const sesEvents = fn('SesEventsHandler', 'ses-events', { timeout: Duration.seconds(30) });
    grant(sesEvents, oppositions, 'PutItem', 'Query', 'BatchGetItem');
    grant(sesEvents, sendLog, 'PutItem', 'Query');
    const eventsQueue = new sqs.Queue(this, 'SesEventsQueue', {
      visibilityTimeout: Duration.seconds(180),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: {
        queue: deadLetters('SesEventsDeadLetters', 'SES events (bounces, complaints)'),
        maxReceiveCount: 5,
      },
    });
    events.addSubscription(new subscriptions.SqsSubscription(eventsQueue));
    sesEvents.addEventSource(new eventSources.SqsEventSource(eventsQueue, { batchSize: 10 }));

    if (config.unsubscribe.mailto) {
      // SES invokes it asynchronously: after Lambda's 2 retries, a failed event goes to a dead-letter queue.
      const mailto = fn('MailtoUnsubscribe', 'mailto-unsubscribe', {
        deadLetterQueue: deadLetters('MailtoDeadLetters', 'mailto unsubscribes'),
        retryAttempts: 2,
      });
      grant(mailto, oppositions, 'PutItem', 'Query', 'BatchGetItem');
      const mailtoRegion = props.mailtoRegion ?? this.region;
      if (mailtoRegion === this.region) {
        const ruleSet = new ses.ReceiptRuleSet(this, 'UnsubscribeRuleSet');
        ruleSet.addRule('MailtoUnsubscribe', {
          recipients: [config.unsubscribe.mailto],
          scanEnabled: true,
          actions: [new sesActions.Lambda({ function: mailto, invocationType: sesActions.LambdaInvocationType.EVENT })],
        });
      } else {
        // SES does not receive mail here: the rule is in the mailto stack, in a receiving region,
        // and its SNS topic invokes this function across regions.
        const topic = sns.Topic.fromTopicArn(
          this,
          'MailtoTopic',
          this.formatArn({ service: 'sns', region: mailtoRegion, resource: MAILTO_TOPIC }),
        );
        topic.addSubscription(new subscriptions.LambdaSubscription(mailto));
      }
    }

    // The relay: Fargate behind a Network Load Balancer (SMTP is a long-lived TCP service).
    // `deploy.network`: `nat` puts the tasks in private subnets behind a NAT gateway; `public` (the
    // cheaper variant) gives them public IPs in public subnets, with no NAT gateway: their security
    // group still takes traffic only from the balancer. DynamoDB goes through a free gateway
    // endpoint either way.
    const publicTasks = config.deploy.network === 'public';
    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Fixed, so the relay's config can name it: PROXY headers are believed from here only.
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: publicTasks ? 0 : 1,
      ...(publicTasks ? { subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] } : {}),
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      // Rejected traffic is what a security review asks about; accepted SMTP is in the relay's logs.
      flowLogs: {
        Rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'VpcFlowLogs', { retention, removalPolicy: RemovalPolicy.DESTROY }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    const relayLogs = new logs.LogGroup(this, 'RelayLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const task = new ecs.FargateTaskDefinition(this, 'RelayTask', {
      cpu: config.deploy.relaySize === 'small' ? 512 : 1024,
      memoryLimitMiB: config.deploy.relaySize === 'small' ? 1024 : 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    // The relay always sends with the configuration set this stack made (else no bounce or
    // complaint would ever reach the opposition list); no password hash in the task definition.
    const relayConfig = {
      ...config,
      smtpUsers: Object.fromEntries(
        Object.entries(config.smtpUsers).map(([n, u]) => [n, { ...u, passwordHash: undefined }]),
      ),
      tokens: { ...config.tokens, keys: {} },
      // The balancer sends PROXY protocol v2: limits, throttles and logs see the client's address.
      smtp: { ...config.smtp, host: '0.0.0.0', tls: undefined, proxyProtocol: { trustedCidrs: [VPC_CIDR] } },
      // Every task takes its share of the account's send rate (heartbeats in the send-log table).
      ses: { ...config.ses, configurationSet: setName, fleetWide: true },
      deploy: undefined,
    };
    task.addContainer('relay', {
      // Built for the task's CPU (ARM64), whatever the builder's.
      image: ecs.ContainerImage.fromAsset(ROOT, {
        platform: Platform.LINUX_ARM64,
        exclude: ['node_modules', '.data', 'cdk.out', 'test-results', '.git'],
      }),
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'relay',
        logGroup: relayLogs,
      }),
      environment: {
        FAIRSEND_CONFIG_JSON: JSON.stringify(relayConfig),
        FAIRSEND_TOKEN_KEYS_SECRET: tokenKeys.secretArn,
        FAIRSEND_SMTP_USERS_SECRET: smtpUserHashes.secretArn,
        FAIRSEND_TLS_SECRET: tlsSecret.secretArn,
        FAIRSEND_ERASURE_KEY_SECRET: erasureKey.secretArn,
      },
      portMappings: [
        { containerPort: config.smtp.starttlsPort },
        { containerPort: config.smtp.implicitTlsPort },
        { containerPort: HEALTH_PORT },
      ],
      stopTimeout: Duration.seconds(Math.ceil(config.smtp.closeTimeoutMs / 1000) + 5),
    });
    tokenKeys.grantRead(task.taskRole);
    smtpUserHashes.grantRead(task.taskRole);
    tlsSecret.grantRead(task.taskRole);
    erasureKey.grantRead(task.taskRole);
    grant(task.taskRole, oppositions, 'BatchGetItem');
    grant(task.taskRole, blockedSends, 'PutItem', 'UpdateItem');
    grant(task.taskRole, sendLog, 'BatchGetItem', 'BatchWriteItem', 'PutItem', 'Query');
    grant(task.taskRole, contacts, 'BatchGetItem', 'UpdateItem');
    // SMTP users managed in the console, and their logins: only those two partitions of the admin table.
    task.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query', 'dynamodb:UpdateItem'],
        resources: [admin.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['smtp-user', 'smtp-login'] } },
      }),
    );
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
      desiredCount: relayTasks,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      ...(publicTasks ? { assignPublicIp: true, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } } : {}),
    });
    // The load balancer takes SMTP only from the configured client networks; the tasks only from it.
    const nlbGroup = new ec2.SecurityGroup(this, 'NlbSecurityGroup', {
      vpc,
      description: 'Fairsend SMTP clients',
      allowAllOutbound: true,
    });
    for (const cidr of config.deploy.clientCidrs) {
      const peer = cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
      for (const port of [587, 465]) nlbGroup.addIngressRule(peer, ec2.Port.tcp(port), `SMTP from ${cidr}`);
    }
    const nlb = new elbv2.NetworkLoadBalancer(this, 'Nlb', { vpc, internetFacing: true, securityGroups: [nlbGroup] });
    for (const [name, port] of [
      ['Submission', config.smtp.starttlsPort],
      ['Submissions', config.smtp.implicitTlsPort],
    ] as const) {
      const publicPort = name === 'Submission' ? 587 : 465;
      const listener = nlb.addListener(name, { port: publicPort, protocol: elbv2.Protocol.TCP });
      listener.addTargets(`${name}Targets`, {
        port,
        protocol: elbv2.Protocol.TCP,
        proxyProtocolV2: true,
        targets: [service.loadBalancerTarget({ containerName: 'relay', containerPort: port })],
        // Healthy only when the relay can read the opposition list (proxy/health.ts); the SMTP ports get no probes.
        healthCheck: {
          protocol: elbv2.Protocol.HTTP,
          port: String(HEALTH_PORT),
          path: '/healthz',
          interval: Duration.seconds(10),
        },
        deregistrationDelay: Duration.seconds(Math.ceil(config.smtp.closeTimeoutMs / 1000)),
      });
      service.connections.allowFrom(nlbGroup, ec2.Port.tcp(port), `SMTP ${name} from the NLB only`);
    }
    service.connections.allowFrom(nlbGroup, ec2.Port.tcp(HEALTH_PORT), 'Health checks from the NLB');
    const scaling = service.autoScaleTaskCount({ minCapacity: relayTasks, maxCapacity: Math.max(1, relayTasks * 5) });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    // What the relay refuses, counted from its log lines (one `blocked-send` line per refused or
    // flagged recipient): a spike means a bad list or a tool gone wrong, before SES notices.
    const blockedMetric = (outcome: 'blocked' | 'flagged') =>
      new logs.MetricFilter(this, `${outcome === 'blocked' ? 'Blocked' : 'Flagged'}SendsMetric`, {
        logGroup: relayLogs,
        filterPattern: logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$.event', '=', 'blocked-send'),
          logs.FilterPattern.stringValue('$.outcome', '=', outcome),
        ),
        metricNamespace: 'Fairsend',
        metricName: outcome === 'blocked' ? 'BlockedSends' : 'FlaggedSends',
        metricValue: '1',
        defaultValue: 0,
      }).metric({ period: Duration.hours(1), statistic: 'Sum' });
    const blocked = blockedMetric('blocked');
    const flagged = blockedMetric('flagged');
    alarmAt(
      'BlockedSendsSpikeAlarm',
      blocked,
      config.deploy.blockedSpikePerHour,
      `${config.deploy.blockedSpikePerHour} or more recipients refused in an hour: a bad list, or a tool sending to opposed people`,
    );
    const running = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: cluster.clusterName, ServiceName: service.serviceName },
      period: Duration.minutes(5),
      statistic: 'Minimum',
    });
    if (relayTasks > 0) {
      notify(
        new cloudwatch.Alarm(this, 'RelayTasksMissingAlarm', {
          metric: running,
          threshold: relayTasks,
          evaluationPeriods: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          alarmDescription: `fewer than ${relayTasks} relay tasks running for 10 minutes`,
        }),
      );
    }
    const unhealthy = new cloudwatch.Metric({
      namespace: 'AWS/NetworkELB',
      metricName: 'UnHealthyHostCount',
      dimensionsMap: { LoadBalancer: nlb.loadBalancerFullName },
      period: Duration.minutes(5),
      statistic: 'Maximum',
    });
    alarmAt(
      'RelayUnhealthyAlarm',
      unhealthy,
      1,
      'a relay task fails its health check (it cannot read the opposition list)',
    );

    // One dashboard with the same figures as the alarms.
    const sesMetric = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName,
        period: Duration.hours(1),
        statistic: 'Average',
        label,
      });
    new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `Fairsend-${this.stackName}`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Bounce and complaint rates (SES review at 5 % and 0.1 %)',
            left: [sesMetric('Reputation.BounceRate', 'bounce rate')],
            right: [sesMetric('Reputation.ComplaintRate', 'complaint rate')],
            leftAnnotations: [{ value: 0.05, label: 'bounce 5 %' }],
            rightAnnotations: [{ value: 0.001, label: 'complaint 0.1 %' }],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Recipients refused and flagged per hour',
            left: [blocked.with({ label: 'blocked' }), flagged.with({ label: 'flagged' })],
            leftAnnotations: [{ value: config.deploy.blockedSpikePerHour, label: 'spike alarm' }],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Relay tasks and health',
            left: [running.with({ label: 'running tasks' })],
            right: [unhealthy.with({ label: 'unhealthy' })],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Emails sent (SES)',
            left: [
              new cloudwatch.Metric({
                namespace: 'AWS/SES',
                metricName: 'Send',
                period: Duration.hours(1),
                statistic: 'Sum',
              }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: this.node.findAll().filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm),
            width: 24,
          }),
        ],
      ],
    });

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
      description: config.deploy.tlsSecretArn
        ? 'The SMTP certificate the relay reads (and re-reads hourly: renew it there)'
        : 'Put the SMTP certificate here ({"key", "cert"}), then set deploy.tlsSecretArn to this ARN and deploy again: the relay starts',
    });
    // cdk-nag's AwsSolutions pack (infra/cdk/app.ts, test/infra): each finding left, and why.
    const acknowledge = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    acknowledge(this, 'AwsSolutions::AwsSolutions-L1', 'Node.js 22 is the LTS the functions are built and tested for.');
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-SMG4',
      'Unsubscribe-token keys rotate by adding a key (links in sent mail must keep working for 2 years); SMTP password hashes change when a user changes password, not on a schedule.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-APIG1',
      'Unsubscribe URLs carry per-recipient tokens: access logs would keep them for no purpose (GDPR minimisation); the functions log what is needed, and the admin console writes every change to the audit table.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-APIG4',
      'The unsubscribe link must work without login (RFC 8058, CNIL: objecting must be simple and free); the token authorises. The /admin routes authenticate in the function (scrypt accounts, server-side sessions in DynamoDB, CSRF tokens, login throttling): every route but the login form refuses without a session.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-ECS2',
      'The task environment holds the config without secrets and the secret ARNs; the secrets are read at start.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-ELB2',
      'NLB access logs exist only for TLS listeners; these are TCP (SMTP STARTTLS/TLS ends in the relay).',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-EC23',
      'SMTP submission is public by default; deploy.clientCidrs narrows it to the company networks.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The managed policy grants writing to the function’s own logs only.',
    );
    acknowledge(
      this,
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken (pulling the relay image) and the VPC flow-log role are account-wide by AWS design.',
    );
    new CfnOutput(this, 'SmtpUserHashesSecretArn', {
      value: smtpUserHashes.secretArn,
      description: 'SMTP users\' scrypt hashes: {"<user>": "scrypt$…"}',
    });
    new CfnOutput(this, 'AdminConsoleUrl', {
      value: `${api.apiEndpoint}/admin`,
      description: 'The admin console (first account: npm run fairsend -- admin create <name>, with AWS credentials)',
    });
  }
}

/** CloudWatch Logs accepts a fixed list of retention periods: the nearest at or above the wanted days. */
function retentionFor(days: number): logs.RetentionDays {
  const allowed = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  ];
  return (allowed.find((d) => d >= days) ?? 3653) as logs.RetentionDays;
}
