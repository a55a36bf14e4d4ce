import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Annotations,
  Arn,
  ArnFormat,
  CfnOutput,
  CfnParameter,
  Duration,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { BackupTask } from '../lambdas/core/backup-task.ts';
import type { BackupConfig, FleetConfig } from '../lambdas/core/config-schema.ts';
import {
  BACKUP_DOCUMENT,
  CONFIG_ARCHIVE_DOCUMENT,
  DRILL_DOCUMENT,
  PITR_RESTORE_DOCUMENT,
  RESTART_DOCUMENT,
  RESTORE_DOCUMENT,
  WAL_ARCHIVING_DOCUMENT,
} from '../lambdas/core/document-names.ts';
import { ESCALATION_TEST_TASK } from '../lambdas/core/escalation-test.ts';
import type { HandlerEnvironment, HandlerName } from '../lambdas/core/handler-environment.ts';
import { REPORT_PREFIX } from '../lambdas/core/incident-report.ts';
import { CONTROL_PLANE_METRICS, controlPlaneServiceName } from '../lambdas/core/metrics.ts';
import type { ScheduleName } from '../lambdas/core/schedules.ts';
import { targetsFromConfig } from '../lambdas/core/targets.ts';
import { ArtifactBucket } from './constructs/artifact-bucket.ts';
import { AutomationRunbooks } from './constructs/automation-runbooks.ts';
import {
  ControlPlaneFunction,
  type ControlPlaneFunctionProps,
  type FunctionVpcPlacement,
} from './constructs/control-plane-function.ts';
import { ControlPlaneKey } from './constructs/control-plane-key.ts';
import { ControlPlaneEvents } from './constructs/event-routing.ts';
import { FleetHostAccess } from './constructs/fleet-host-access.ts';
import { ControlPlaneMonitoring } from './constructs/monitoring.ts';
import { EscalationTopics } from './constructs/notifications.ts';
import { Runbooks } from './constructs/runbooks.ts';
import { ControlPlaneSchedules, type ScheduleTargetSpec } from './constructs/schedules.ts';
import { ControlTable } from './constructs/state.ts';
import { UpdatesTopic } from './constructs/updates-topic.ts';
import { assertReachableFromAws } from './probe-reachability.ts';
import { logRetention } from './retention.ts';
import { clamp, schedulePeriodSeconds } from './schedule-period.ts';
import {
  assertAwsSecrets,
  backupHostSecrets,
  channelSecrets,
  grantSecretReads,
  probeSecrets,
  secretReadStatements,
} from './secrets.ts';

const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The documents only the backups Lambda may run (on the database host); every other document is the probe's. */
const BACKUP_DOCUMENTS: readonly string[] = [BACKUP_DOCUMENT, DRILL_DOCUMENT];
/** What the operator API sends to the database host: a backup now, a drill, the Recovery Procedure's database steps. */
const OPERATOR_BACKUP_DOCUMENTS: readonly string[] = [...BACKUP_DOCUMENTS, RESTORE_DOCUMENT];
/**
 * With `backups.archiving`: the weekly base backup (the backups Lambda), and the archiving routes of the operator API
 * (status, enable, base backup, a point-in-time restore into a scratch cluster).
 */
const ARCHIVING_DOCUMENTS: readonly string[] = [WAL_ARCHIVING_DOCUMENT];
const OPERATOR_ARCHIVING_DOCUMENTS: readonly string[] = [WAL_ARCHIVING_DOCUMENT, PITR_RESTORE_DOCUMENT];
/** With `backups.archiving` and `schedules.pitrDrill`: the point-in-time restore drill (the backups Lambda). */
const PITR_DRILL_DOCUMENTS: readonly string[] = [PITR_RESTORE_DOCUMENT];
/** With `backups.configArchive` and `schedules.configArchive`: the daily configuration archive (the backups Lambda). */
const CONFIG_ARCHIVE_DOCUMENTS: readonly string[] = [CONFIG_ARCHIVE_DOCUMENT];
/** What the operator API sends: the service procedures and the fleet documents (start-all, stop-all, rolling update). */
const OPERATOR_DOCUMENTS: readonly string[] = [
  RESTART_DOCUMENT,
  'acgs-start-service',
  'acgs-stop-service',
  'acgs-isolate-service',
  'acgs-release-service',
  'acgs-start-all',
  'acgs-stop-all',
  'acgs-rolling-update',
];

/** The instance id pattern of `backups.instanceId` (an EC2 instance or an SSM managed node). */
const INSTANCE_ID_PATTERN = '^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$';

/** Time a probe cycle needs besides the probes themselves: loading and saving states, events, pages, commands. */
const PROBE_CYCLE_OVERHEAD_SECONDS = 25;

export interface ControlPlaneStackProps extends StackProps {
  /** The parsed fleet config: services, schedules, escalation levels, the `aws` section. */
  readonly config: FleetConfig;
  /**
   * The repository root: handler entries, the lock file and `ssm-documents/` are found from it.
   * @default the directory above lib/
   */
  readonly projectRoot?: string;
  /**
   * Directory of the SSM Command documents to deploy.
   * @default `<projectRoot>/ssm-documents`
   */
  readonly documentsDir?: string;
  /**
   * The probe targets are a simulated fleet on this machine and the stack goes to an emulator (the deploy rehearsal
   * on moto): the check that every target is reachable from a Lambda in AWS is skipped. Never for a real account,
   * where a loopback target is the Lambda's own sandbox; `bin/app.ts` never sets it.
   * @default false
   */
  readonly emulatedFleet?: boolean;
}

/**
 * The operations control plane of one fleet: a probe and an escalation sweep on EventBridge Scheduler, a Lambda that
 * learns SSM command outcomes from the default bus, an operator API behind IAM, the control table, one SNS topic per
 * escalation level, the fleet's SSM documents, the backup bucket, the event bus with its audit trail, and the alarms
 * and dashboard that watch the watcher.
 */
export class ControlPlaneStack extends Stack {
  /** The Lambdas by handler; `backups` only when the config has a `backups` section. */
  readonly functions: Readonly<Record<Exclude<HandlerName, 'backups'>, ControlPlaneFunction>> & {
    readonly backups?: ControlPlaneFunction;
  };
  readonly state: ControlTable;
  /** The one customer-managed key: escalation topics and backups. */
  readonly key: Key;
  readonly escalation: EscalationTopics;
  /** Lifecycle notices for stakeholders (`notifications.snsEvents`). */
  readonly updates: UpdatesTopic;
  readonly runbooks: Runbooks;
  /** The SSM Automation runbooks (ssm-documents/automation/), which call the operator API. */
  readonly automationRunbooks: AutomationRunbooks;
  readonly artifacts: ArtifactBucket;
  readonly events: ControlPlaneEvents;
  readonly schedules: ControlPlaneSchedules;
  readonly monitoring: ControlPlaneMonitoring;
  readonly operatorAccess: ManagedPolicy;
  /** What every fleet host's instance role needs: the SSM Agent's core and the command output log group. */
  readonly fleetHostAccess: FleetHostAccess;
  readonly operatorUrl: FunctionUrl;
  /** What the database host's instance role needs to publish backups and run drills; only with `backups`. */
  readonly backupHostAccess: ManagedPolicy | undefined;
  /** Deploy-time parameter for the database host, when the config's `backups` section names none. */
  readonly backupInstanceParameter: CfnParameter | undefined;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, props);
    const { config } = props;
    if (!props.emulatedFleet) assertReachableFromAws(config);
    assertAwsSecrets(config);
    const projectRoot = props.projectRoot ?? REPOSITORY_ROOT;
    const retention = logRetention(config.aws.retentionDays);
    const serviceName = controlPlaneServiceName(config.fleet.name);
    const { timeZone } = config.schedules;

    this.state = new ControlTable(this, 'State');
    this.key = new ControlPlaneKey(this, 'Encryption', { fleetName: config.fleet.name }).key;
    this.escalation = new EscalationTopics(this, 'Escalation', {
      levels: config.escalation.levels,
      displayPrefix: config.fleet.name,
      key: this.key,
    });
    this.updates = new UpdatesTopic(this, 'Updates', { displayPrefix: config.fleet.name, key: this.key });
    this.runbooks = new Runbooks(this, 'Runbooks', {
      documentsDir: props.documentsDir ?? join(projectRoot, 'ssm-documents'),
    });
    this.artifacts = new ArtifactBucket(this, 'Artifacts', {
      accessLogRetentionDays: config.aws.retentionDays,
      key: this.key,
    });
    this.events = new ControlPlaneEvents(this, 'Events', {
      busName: `${config.fleet.name}-control-plane`,
      auditRetention: retention,
    });
    const commandOutput = new LogGroup(this, 'CommandOutput', { retention });
    this.fleetHostAccess = new FleetHostAccess(this, 'FleetHostAccess', {
      fleetName: config.fleet.name,
      commandOutput,
    });

    const environment: HandlerEnvironment = {
      ACGS_TABLE_NAME: this.state.table.tableName,
      ACGS_EVENT_BUS_NAME: this.events.bus.eventBusName,
      ACGS_TOPIC_ARNS: this.toJsonString(this.escalation.topicArnsByLevel()),
      ACGS_DOCUMENT_NAMES: this.toJsonString(this.runbooks.documentNames),
      ACGS_COMMAND_LOG_GROUP: commandOutput.logGroupName,
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: CONTROL_PLANE_METRICS.namespace,
    };
    const common = { projectRoot, environment, config, logRetention: retention };
    // Opt-in (aws.reservedConcurrency): the default account quota of 10 leaves nothing to reserve.
    const reserved = config.aws.reservedConcurrency ? { reservedConcurrentExecutions: 1 } : {};

    const probePeriod = schedulePeriodSeconds(config.schedules.probe, timeZone);
    const sweepPeriod = schedulePeriodSeconds(config.schedules.escalationSweep, timeZone);
    const probeTimeout = probeTimeoutSeconds(config);
    if (probeTimeout >= probePeriod)
      throw new Error(
        `a probe cycle may take up to ${probeTimeout}s (${targetsFromConfig(config).length} targets, ` +
          `${config.thresholds.probeConcurrency} at a time, ${config.thresholds.probeTimeout / 1000}s each, plus ` +
          `${PROBE_CYCLE_OVERHEAD_SECONDS}s) but the probe runs every ${probePeriod}s: raise probeConcurrency or the interval`,
      );

    const probe = new ControlPlaneFunction(this, 'Probe', {
      ...common,
      handler: 'probe',
      timeout: Duration.seconds(probeTimeout),
      memorySize: 512,
      // Cycles never overlap: one that starts while another runs finds its lease taken and does nothing.
      ...reserved,
      // A failed cycle is not retried: the next scheduled one replaces it.
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.seconds(clamp(probePeriod, 60, 21_600)) },
      ...(config.aws.vpc ? { vpc: this.fleetVpc(config.aws.vpc) } : {}),
    });
    const escalationSweep = new ControlPlaneFunction(this, 'EscalationSweep', {
      ...common,
      handler: 'escalationSweep',
      timeout: Duration.seconds(Math.min(50, sweepPeriod - 10)),
      ...reserved,
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.seconds(clamp(sweepPeriod, 60, 21_600)) },
    });
    const commandStatus = new ControlPlaneFunction(this, 'CommandStatus', {
      ...common,
      handler: 'commandStatus',
      timeout: Duration.seconds(30),
      // Finishing an attempt is idempotent, so a retried event is harmless. A restart's status that comes before the
      // sender recorded its command id fails the invocation on purpose: Lambda retries it 1 and then 2 minutes later,
      // inside the 5 minutes an unknown id is waited for (core/command-status.ts; an infra test holds them together).
      asyncInvocation: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
      // That deliberate failure is an error to Lambda; an Errors alarm would page for it. What still fails after the
      // retries lands in the function's dead-letter queue, whose alarm pages.
      alarmOnErrors: false,
    });
    // Invoked only synchronously through its Function URL: no asynchronous failures to queue. It answers each
    // procedure with its outcome, waiting for the commands it sends: as long as the longest procedure takes.
    const operatorApi = new ControlPlaneFunction(this, 'OperatorApi', {
      ...common,
      handler: 'operatorApi',
      timeout: Duration.seconds(operatorApiTimeoutSeconds(config)),
      unscopedActionsReason:
        'ssm:ListCommands, ssm:ListCommandInvocations and ssm:CancelCommand (following the commands of the ' +
        "operators' procedures, and cancelling one when its time is up) support no resource-level permissions; " +
        "SendCommand itself is limited to the service and fleet documents on the fleet's tagged instances.",
    });
    const backupJobs = config.backups
      ? this.backupJobs(config, config.backups, { ...common, environment }, commandOutput)
      : undefined;
    this.functions = {
      probe,
      escalationSweep,
      commandStatus,
      operatorApi,
      ...(backupJobs ? { backups: backupJobs.fn } : {}),
    };
    this.backupHostAccess = backupJobs?.hostAccess;
    this.backupInstanceParameter = backupJobs?.instanceParameter;

    // What each use-case needs, and nothing else.
    for (const f of [probe, escalationSweep, commandStatus, operatorApi, ...(backupJobs ? [backupJobs.fn] : [])]) {
      this.state.grantControlData(f.role);
      this.events.bus.grantPutEventsTo(f.role);
    }
    // The backups Lambda raises and resolves backup and drill incidents, so it pages like the probe; so does the
    // command-status Lambda with backups, since a backup command that fails on the host opens the backup incident.
    // The same Lambdas store lifecycle notices with the incidents they write and deliver them to the Updates topic.
    for (const f of [probe, escalationSweep, operatorApi, ...(backupJobs ? [backupJobs.fn, commandStatus] : [])]) {
      this.escalation.grantPublish(f.role);
      this.updates.grantPublish(f.role);
      f.fn.addEnvironment('ACGS_UPDATES_TOPIC_ARN', this.updates.topic.topicArn);
      // The secrets of the config's PagerDuty, Slack and Teams channels, which these Lambdas page and notify through.
      grantSecretReads(f.role, channelSecrets(config), this, 'Channel');
    }
    // Every Lambda that resolves incidents writes the report of each resolution to the artifact bucket.
    for (const f of [probe, operatorApi, ...(backupJobs ? [backupJobs.fn] : [])]) this.grantIncidentReports(f);
    // The probe cycle sends restarts and nothing else: the other service documents (stop, isolate, rolling update...)
    // are operators' tools, run from the console or the CLI with the operator's own permissions. The command-status
    // Lambda reads the outcome from the status event itself, so it gets no SSM permission at all.
    const serviceDocuments = [RESTART_DOCUMENT];
    this.grantSendCommand(probe, this.runbooks.documentArns(serviceDocuments), config.aws.fleetTag);
    // The operator API carries out the operators' service and fleet procedures, and follows each command to its end.
    this.grantSendCommand(operatorApi, this.runbooks.documentArns(OPERATOR_DOCUMENTS), config.aws.fleetTag);
    operatorApi.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FollowOperatorCommands',
        actions: ['ssm:ListCommands', 'ssm:ListCommandInvocations', 'ssm:CancelCommand'],
        resources: ['*'],
      }),
    );
    if (backupJobs && config.backups)
      this.grantOperatorBackups(operatorApi, config, config.backups, backupJobs.instanceId);
    // The database passwords, read from Secrets Manager at the probe's cold start (never in its environment).
    grantSecretReads(probe.role, probeSecrets(config), this);

    // Restart outcomes, and the backup's: a backup that fails on the host (an unwritable bucket) may publish nothing
    // for the monitor to read, so its status event opens the incident. The drill is not routed: the backups Lambda
    // waits for it.
    this.events.routeCommandStatus(
      commandStatus.fn,
      [...serviceDocuments, ...(backupJobs ? [BACKUP_DOCUMENT] : [])].map(
        (key) => this.runbooks.documentNames[key] ?? key,
      ),
    );
    this.schedules = new ControlPlaneSchedules(this, 'Schedules', {
      config,
      groupName: this.stackName,
      targets: {
        probe: { fn: probe.fn },
        escalationSweep: { fn: escalationSweep.fn },
        // Deployed only when the config has schedules.escalationTest.
        escalationTest: { fn: escalationSweep.fn, input: { task: ESCALATION_TEST_TASK } },
        ...(backupJobs?.schedules ?? {}),
      },
    });

    // The operator procedures as Automation runbooks in the console: they invoke the operator API, which acts as the
    // principal who started the execution (ssm:GetAutomationExecution of the execution that invokes it).
    this.automationRunbooks = new AutomationRunbooks(this, 'AutomationRunbooks', {
      runbooksDir: join(props.documentsDir ?? join(projectRoot, 'ssm-documents'), 'automation'),
      operatorFunction: operatorApi.fn,
      services: config.services.map((s) => s.name),
    });
    this.automationRunbooks.grantReadExecution(operatorApi.role);
    operatorApi.fn.addEnvironment(
      'ACGS_RUNBOOK_NAMES',
      this.toJsonString(Object.values(this.automationRunbooks.documentNames)),
    );

    this.operatorUrl = operatorApi.fn.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
    // IAM names are account-wide: CloudFormation names the policy (unique per stack and region); the output gives it.
    this.operatorAccess = new ManagedPolicy(this, 'OperatorAccess', {
      description: `Call the ${config.fleet.name} operator API (its Function URL) and run its Automation runbooks`,
      statements: [
        new PolicyStatement({
          actions: ['lambda:InvokeFunctionUrl'],
          resources: [operatorApi.fn.functionArn],
          conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': FunctionUrlAuthType.AWS_IAM } },
        }),
        // Since October 2025 a new Function URL also needs lambda:InvokeFunction; only through the URL.
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [operatorApi.fn.functionArn],
          conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        }),
        ...this.automationRunbooks.operatorStatements(),
      ],
    });
    this.automationRunbooks.acknowledgeOperatorWildcards(this.operatorAccess);

    // Last: it finds every function and dead-letter queue of the stack.
    this.monitoring = new ControlPlaneMonitoring(this, 'Monitoring', {
      serviceName,
      probePeriodSeconds: probePeriod,
      alarmTopic: this.escalation.topic(1),
      probeLogGroup: probe.logGroup,
      // Dashboard names are account-wide: the region keeps a second region's deploy of this fleet apart.
      dashboardName: `${this.stackName}-${this.region}-overview`,
      ...(config.backups ? { backupMaxAgeHours: config.backups.maxAge / 3_600_000 } : {}),
      ...(config.backups?.archiving ? { archiveRpoSeconds: config.recovery.rpo / 1_000 } : {}),
    });

    new CfnOutput(this, 'ControlTableName', { value: this.state.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    for (const [level, topic] of this.escalation.topics)
      new CfnOutput(this, `EscalationTopicLevel${level}`, { value: topic.topicArn });
    new CfnOutput(this, 'UpdatesTopicArn', {
      description: 'Lifecycle notices of incidents and maintenance (notifications.snsEvents): subscribe stakeholders',
      value: this.updates.topic.topicArn,
    });
    new CfnOutput(this, 'ArtifactBucketName', { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, 'CommandOutputLogGroup', { value: commandOutput.logGroupName });
    new CfnOutput(this, 'OperatorApiUrl', { value: this.operatorUrl.url });
    new CfnOutput(this, 'OperatorAccessPolicyArn', { value: this.operatorAccess.managedPolicyArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'FleetHostAccessPolicyArn', {
      description: 'Attach to the instance role of every fleet host (SSM Agent core, command output)',
      value: this.fleetHostAccess.managedPolicyArn,
    });
    if (this.backupHostAccess)
      new CfnOutput(this, 'BackupHostAccessPolicyArn', {
        description: 'Attach to the instance role of the database host (backups and restore drills)',
        value: this.backupHostAccess.managedPolicyArn,
      });
  }

  /**
   * The backups Lambda (daily backup, hourly monitor, weekly retention, the restore drill, the weekly base backup
   * and the canary with archiving, the daily configuration archive), its schedules, and the managed policy the database host's instance role needs. The host is
   * `backups.instanceId`; a config without it gets a required deploy-time parameter instead (no default:
   * CloudFormation refuses to deploy without a value), so a fleet that configured backups can neither silently get
   * none nor run them on a made-up host.
   */
  private backupJobs(
    config: FleetConfig,
    backups: BackupConfig,
    common: Omit<ControlPlaneFunctionProps, 'handler' | 'timeout'>,
    commandOutput: LogGroup,
  ): {
    fn: ControlPlaneFunction;
    schedules: Partial<Record<ScheduleName, ScheduleTargetSpec>>;
    hostAccess: ManagedPolicy;
    instanceParameter?: CfnParameter;
    /** The database host: backups.instanceId, or the BackupInstanceId parameter's value. */
    instanceId: string;
  } {
    for (const key of BACKUP_DOCUMENTS)
      if (this.runbooks.documentNames[key] === undefined)
        throw new Error(`backups are configured but the SSM document ${key}.yaml is not among the runbooks`);
    if (backups.drill && config.schedules.drill === undefined)
      throw new Error(
        'backups.drill is set but schedules.drill is not: the restore drill would never run and the backup monitor ' +
          'would report it overdue forever; add schedules.drill (or remove backups.drill)',
      );
    let instanceId = backups.instanceId;
    let instanceParameter: CfnParameter | undefined;
    if (instanceId === undefined) {
      instanceParameter = new CfnParameter(this, 'BackupInstanceId', {
        type: 'String',
        allowedPattern: INSTANCE_ID_PATTERN,
        constraintDescription: 'must be an EC2 instance id (i-...) or a managed node id (mi-...)',
        description:
          'The database host (EC2 instance i-... or managed node mi-...) where SSM runs the backup and restore-drill ' +
          'documents. Asked for because the fleet config has a backups section without backups.instanceId; set that ' +
          'to drop this parameter.',
      });
      instanceId = instanceParameter.valueAsString;
      Annotations.of(instanceParameter).addInfo(
        'backups.instanceId is not in the fleet config: the database host is the BackupInstanceId parameter, ' +
          'required at deploy time (cdk deploy --parameters BackupInstanceId=i-...)',
      );
    }
    const { bucket, key } = this.artifacts;
    const fn = new ControlPlaneFunction(this, 'Backups', {
      ...common,
      handler: 'backups',
      environment: {
        ...common.environment,
        ACGS_BACKUP_BUCKET: bucket.bucketName,
        ACGS_BACKUP_KMS_KEY: key.keyArn,
        ACGS_BACKUP_INSTANCE_ID: instanceId,
      },
      // The drill waits for the restore on the host; the handler bounds the drill to the time left.
      timeout: Duration.minutes(15),
      memorySize: 512,
      // One task of each kind at a time (a lease per task); with aws.reservedConcurrency, one task at all.
      ...(config.aws.reservedConcurrency ? { reservedConcurrentExecutions: 1 } : {}),
      // No retries (a backup is the host's to retry; the monitor runs hourly and reports what is missing), but an
      // event may wait behind a running drill; an hour-old one has been replaced and goes to the queue.
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.hours(1) },
      unscopedActionsReason:
        'ssm:ListCommands, ssm:ListCommandInvocations and ssm:CancelCommand (following the restore drill it sent, ' +
        'and cancelling it when its time is up) support no resource-level permissions; SendCommand itself is ' +
        'limited to the backup documents on the database host.',
    });
    const role = fn.role;
    for (const statement of this.backupPrefixStatements(backups, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']))
      role.addToPrincipalPolicy(statement);
    // The configuration archive is sent only on its schedule: without schedules.configArchive nothing here sends it.
    const configArchiveScheduled = backups.configArchive !== undefined && config.schedules.configArchive !== undefined;
    // Likewise the point-in-time restore drill: acgs-pitr-restore only with schedules.pitrDrill.
    const pitrDrillScheduled = backups.archiving !== undefined && config.schedules.pitrDrill !== undefined;
    const documents = [
      ...BACKUP_DOCUMENTS,
      ...(backups.archiving ? ARCHIVING_DOCUMENTS : []),
      ...(pitrDrillScheduled ? PITR_DRILL_DOCUMENTS : []),
      ...(configArchiveScheduled ? CONFIG_ARCHIVE_DOCUMENTS : []),
    ];
    this.grantSendCommand(fn, this.runbooks.documentArns(documents), config.aws.fleetTag, {
      instances: this.databaseHostArns(instanceId, backups.instanceId === undefined),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'FollowDrillCommand',
        actions: ['ssm:ListCommands', 'ssm:ListCommandInvocations', 'ssm:CancelCommand'],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${backups.s3Prefix}*]`,
      reason:
        `Backup objects are named by their time (${backups.s3Prefix}<database>-<timestamp>.*): object access is ` +
        'limited to the configured prefix of the backup bucket, which is the whole of what this Lambda manages.',
    });

    const hostAccess = new ManagedPolicy(this, 'BackupHostAccess', {
      description:
        `Attach to the instance role of the ${config.fleet.name} database host: publish backups under ` +
        `${backups.s3Prefix}, fetch them for restore drills, and write command output`,
      statements: [
        // PutObject covers multipart uploads of big dumps; DeleteObject withdraws a dump whose manifest never followed.
        ...this.backupPrefixStatements(backups, [
          's3:PutObject',
          's3:GetObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
        ]),
        // The SSM agent sends the documents' output to the command log group (the group's ARN ends in :*).
        new PolicyStatement({
          sid: 'CommandOutput',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [commandOutput.logGroupArn],
        }),
        // The backup and drill documents read the database password from its secret on the host.
        ...secretReadStatements(backupHostSecrets(config), this),
        // WAL archiving to S3 (backups.archiving.s3Prefix): archive_command uploads segments and base backups with
        // the host's role, status lists them, a restore reads them back; never deletes (the key: BackupKeyViaS3).
        ...walArchiveStatements(backups, bucket.bucketArn),
        // acgs-config-archive copies its archives beside the dumps (write only: the host never reads them back).
        ...(backups.configArchive
          ? [
              new PolicyStatement({
                sid: 'ConfigArchiveObjects',
                actions: ['s3:PutObject'],
                resources: [`${bucket.bucketArn}/${backups.configArchive.s3Prefix}*`],
              }),
            ]
          : []),
      ],
    });
    const walPrefix = backups.archiving?.s3Prefix;
    if (walPrefix !== undefined)
      Validations.of(hostAccess).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${walPrefix}*]`,
        reason:
          `WAL segments and base backups are objects named by PostgreSQL and by their time under ${walPrefix}: the host ` +
          'may only write and read objects under that prefix of the backup bucket (no delete: a segment is never replaced).',
      });
    if (backups.configArchive) {
      Validations.of(hostAccess).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${backups.configArchive.s3Prefix}*]`,
        reason:
          `Each configuration archive is a new object named by its time under ${backups.configArchive.s3Prefix}: ` +
          'the host may only write objects under that prefix of the backup bucket.',
      });
    }
    Validations.of(hostAccess).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${backups.s3Prefix}*]`,
      reason:
        `Each backup is a new object named by its time under ${backups.s3Prefix}: the host may only write, read and ` +
        'withdraw objects under that prefix of the backup bucket.',
    });

    const task = (t: BackupTask): ScheduleTargetSpec => ({ fn: fn.fn, input: { task: t } });
    return {
      fn,
      schedules: {
        backup: task('backup'),
        backupMonitor: task('monitor'),
        cleanup: task('retention'),
        ...(backups.drill ? { drill: task('drill') } : {}),
        ...(backups.archiving ? { baseBackup: task('base-backup') } : {}),
        // As the daemon: the canary only where there is an archive whose restores it dates.
        ...(backups.archiving ? { canary: task('canary') } : {}),
        // Waited for like the restore drill; the document writes its whole report under backups.s3Prefix.
        ...(backups.archiving ? { pitrDrill: task('pitr-drill') } : {}),
        ...(backups.configArchive ? { configArchive: task('config-archive') } : {}),
      },
      hostAccess,
      ...(instanceParameter ? { instanceParameter } : {}),
      instanceId,
    };
  }

  /**
   * ARNs of the database host: an EC2 instance (i-...) or an SSM managed node (mi-...). A deploy-time id could be
   * either, so both ARNs are given; only the one of its kind can ever match.
   */
  /** Lets the function write incident reports (`REPORT_PREFIX` of the artifact bucket, with the key through S3). */
  private grantIncidentReports(f: ControlPlaneFunction): void {
    const { bucket, key } = this.artifacts;
    f.fn.addEnvironment('ACGS_REPORT_BUCKET', bucket.bucketName);
    f.fn.addEnvironment('ACGS_REPORT_KMS_KEY', key.keyArn);
    f.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'IncidentReports',
        actions: ['s3:PutObject'],
        resources: [`${bucket.bucketArn}/${REPORT_PREFIX}*`],
      }),
    );
    f.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'IncidentReportKeyViaS3',
        actions: ['kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    Validations.of(f.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${REPORT_PREFIX}*]`,
      reason: `Incident reports are named by their incident (${REPORT_PREFIX}<id>.md, .json): writes are limited to that prefix.`,
    });
  }

  private databaseHostArns(instanceId: string, eitherKind: boolean): string[] {
    const ec2 = Arn.format(
      { service: 'ec2', resource: 'instance', resourceName: instanceId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      this,
    );
    const managed = Arn.format(
      {
        service: 'ssm',
        resource: 'managed-instance',
        resourceName: instanceId,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      this,
    );
    if (eitherKind) return [ec2, managed];
    return instanceId.startsWith('mi-') ? [managed] : [ec2];
  }

  private fleetVpc(vpc: NonNullable<FleetConfig['aws']['vpc']>): FunctionVpcPlacement {
    return {
      vpc: Vpc.fromVpcAttributes(this, 'FleetVpc', { vpcId: vpc.vpcId, availabilityZones: vpc.availabilityZones }),
      subnets: vpc.subnetIds.map((id) => {
        const subnet = Subnet.fromSubnetId(this, `FleetSubnet-${id}`, id);
        Validations.of(subnet).acknowledge({
          id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
          reason: 'The subnet only places the probe Lambda; nothing in the stack reads its route table.',
        });
        return subnet;
      }),
      securityGroups: vpc.securityGroupIds.map((id) =>
        SecurityGroup.fromSecurityGroupId(this, `FleetSecurityGroup-${id}`, id, { mutable: false }),
      ),
    };
  }

  /**
   * ssm:SendCommand needs both the document and the instance to be allowed: only this stack's documents, and only
   * instances carrying the fleet tag.
   */
  /**
   * The operator API's backup routes: read the catalogue and write a drill's records under the backup prefix (nothing
   * deleted: retention is the backups Lambda's, and the drill's leftover report copy is deleted best effort), send a
   * backup, a drill or the Recovery Procedure's database steps to the database host, and follow them.
   */
  private grantOperatorBackups(
    operatorApi: ControlPlaneFunction,
    config: FleetConfig,
    backups: BackupConfig,
    instanceId: string,
  ): void {
    const { bucket, key } = this.artifacts;
    operatorApi.fn.addEnvironment('ACGS_BACKUP_BUCKET', bucket.bucketName);
    operatorApi.fn.addEnvironment('ACGS_BACKUP_KMS_KEY', key.keyArn);
    operatorApi.fn.addEnvironment('ACGS_BACKUP_INSTANCE_ID', instanceId);
    const role = operatorApi.role;
    for (const statement of this.backupPrefixStatements(backups, ['s3:GetObject', 's3:PutObject']))
      role.addToPrincipalPolicy(statement);
    const documents = [...OPERATOR_BACKUP_DOCUMENTS, ...(backups.archiving ? OPERATOR_ARCHIVING_DOCUMENTS : [])];
    this.grantSendCommand(operatorApi, this.runbooks.documentArns(documents), config.aws.fleetTag, {
      instances: this.databaseHostArns(instanceId, backups.instanceId === undefined),
      sidPrefix: 'Backup',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(bucketResource(bucket))}.Arn>/${backups.s3Prefix}*]`,
      reason:
        `Backup objects are named by their time (${backups.s3Prefix}<database>-<timestamp>.*): the operator API reads ` +
        'the configured prefix of the backup bucket only, to judge and choose the backup it restores.',
    });
  }

  /**
   * Access to the backups and nothing else of the artifact bucket: listing under the backup prefix, `objectActions`
   * on its objects, and the key through S3. One definition for the backups Lambda, the database host and the
   * operator API, each with the object actions it needs.
   */
  private backupPrefixStatements(backups: BackupConfig, objectActions: readonly string[]): PolicyStatement[] {
    const { bucket, key } = this.artifacts;
    return [
      new PolicyStatement({
        sid: 'ListBackupPrefix',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${backups.s3Prefix}*`] } },
      }),
      new PolicyStatement({
        sid: 'BackupObjects',
        actions: [...objectActions],
        resources: [`${bucket.bucketArn}/${backups.s3Prefix}*`],
      }),
      backupKeyStatement(key.keyArn, this),
    ];
  }

  private grantSendCommand(
    f: ControlPlaneFunction,
    documentArns: readonly string[],
    fleetTag: FleetConfig['aws']['fleetTag'],
    options: { readonly instances?: readonly string[]; readonly sidPrefix?: string } = {},
  ): void {
    // Sids are unique within a policy: a second grant to the same role names its statements apart.
    const sid = (name: string) => `${options.sidPrefix ?? ''}${name}`;
    const anyInstance = Arn.format(
      { service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      this,
    );
    f.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: sid('RunOwnDocuments'), actions: ['ssm:SendCommand'], resources: [...documentArns] }),
    );
    f.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: sid('OnFleetInstancesOnly'),
        actions: ['ssm:SendCommand'],
        resources: [...(options.instances ?? [anyInstance])],
        conditions: { StringEquals: { [`ssm:resourceTag/${fleetTag.key}`]: fleetTag.value } },
      }),
    );
    if (options.instances) return;
    Validations.of(f.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]`,
      reason:
        'Fleet instances are not known when the stack is deployed (they are replaced independently); SendCommand on ' +
        `them is limited by the condition ssm:resourceTag/${fleetTag.key} = "${fleetTag.value}", and only this ` +
        "stack's documents may be sent.",
    });
  }
}

/** Lambda's longest timeout. */
const MAX_LAMBDA_SECONDS = 900;

/**
 * Seconds the operator API may take: its longest procedure, an emergency restart of the fleet (the stop-all document
 * within twice restartTimeout, then each service's start within restartTimeout), or a health wait (840 s at most),
 * plus a little for the reads and the answer; at most Lambda's 900 s. A longer restart is cut there: its commands
 * keep running on the hosts, and the caller sees the invocation time out.
 */
export function operatorApiTimeoutSeconds(config: FleetConfig): number {
  const restartAllMs = config.remediation.restartTimeout * (2 + config.services.length);
  return Math.min(MAX_LAMBDA_SECONDS, Math.max(840, Math.ceil(restartAllMs / 1_000)) + 30);
}

/**
 * Seconds a probe cycle may take: every wave of `probeConcurrency` probes at the full probe timeout, plus overhead,
 * plus the dead man's switch's ping (sent after the cycle, before the Lambda returns).
 */
export function probeTimeoutSeconds(config: FleetConfig): number {
  const targets = targetsFromConfig(config).length;
  const waves = Math.ceil(targets / config.thresholds.probeConcurrency);
  const pingMs = config.deadMansSwitch?.timeout ?? 0;
  return Math.max(
    30,
    Math.ceil((waves * config.thresholds.probeTimeout + pingMs) / 1_000) + PROBE_CYCLE_OVERHEAD_SECONDS,
  );
}

/**
 * Use of the backup key, and only through S3 (SSE-KMS): GenerateDataKey to write objects, Decrypt to read them and
 * to complete multipart uploads. S3 never calls kms:Encrypt for SSE-KMS, so it is not granted.
 */
/** The database host's access to the WAL archive in S3 (`backups.archiving.s3Prefix`): none without one. */
function walArchiveStatements(backups: BackupConfig, bucketArn: string): PolicyStatement[] {
  const prefix = backups.archiving?.s3Prefix;
  if (prefix === undefined) return [];
  return [
    new PolicyStatement({
      sid: 'ListWalArchivePrefix',
      actions: ['s3:ListBucket'],
      resources: [bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }),
    new PolicyStatement({
      sid: 'WalArchiveObjects',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [`${bucketArn}/${prefix}*`],
    }),
  ];
}

function backupKeyStatement(keyArn: string, scope: Stack): PolicyStatement {
  return new PolicyStatement({
    sid: 'BackupKeyViaS3',
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${scope.region}.amazonaws.com` } },
  });
}

function bucketResource(bucket: ArtifactBucket['bucket']): CfnBucket {
  const resource = bucket.node.defaultChild;
  if (!(resource instanceof CfnBucket)) throw new Error('the backup bucket has no CfnBucket');
  return resource;
}
