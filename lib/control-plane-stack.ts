import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FleetConfig } from '../lambdas/core/config-schema.ts';
import { targetsFromConfig } from '../lambdas/core/targets.ts';
import type { HandlerEnvironment, HandlerName } from '../lambdas/handlers/environment.ts';
import { ArtifactBucket } from './constructs/artifact-bucket.ts';
import { ControlPlaneFunction, type FunctionVpcPlacement } from './constructs/control-plane-function.ts';
import { ControlPlaneEvents } from './constructs/event-routing.ts';
import { ControlPlaneMonitoring } from './constructs/monitoring.ts';
import { EscalationTopics } from './constructs/notifications.ts';
import { Runbooks } from './constructs/runbooks.ts';
import { ControlPlaneSchedules } from './constructs/schedules.ts';
import { ControlTable } from './constructs/state.ts';
import { CONTROL_PLANE_METRICS, controlPlaneServiceName } from './metrics.ts';
import { logRetention } from './retention.ts';
import { clamp, schedulePeriodSeconds } from './schedule-period.ts';

const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Time a probe cycle needs besides the probes themselves: loading and saving states, events, pages, commands. */
const PROBE_CYCLE_OVERHEAD_SECONDS = 25;

export interface ControlPlaneStackProps extends StackProps {
  /** The parsed fleet config: services, schedules, escalation levels, the `aws` section. */
  readonly config: FleetConfig;
  /** The config file's text, baked into every Lambda bundle (they parse it at cold start). */
  readonly configText: string;
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
}

/**
 * The operations control plane of one fleet: a probe and an escalation sweep on EventBridge Scheduler, a Lambda that
 * learns SSM command outcomes from the default bus, an operator API behind IAM, the control table, one SNS topic per
 * escalation level, the fleet's SSM documents, the backup bucket, the event bus with its audit trail, and the alarms
 * and dashboard that watch the watcher.
 */
export class ControlPlaneStack extends Stack {
  readonly functions: Readonly<Record<HandlerName, ControlPlaneFunction>>;
  readonly state: ControlTable;
  readonly escalation: EscalationTopics;
  readonly runbooks: Runbooks;
  readonly artifacts: ArtifactBucket;
  readonly events: ControlPlaneEvents;
  readonly schedules: ControlPlaneSchedules;
  readonly monitoring: ControlPlaneMonitoring;
  readonly operatorAccess: ManagedPolicy;
  readonly operatorUrl: FunctionUrl;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, props);
    const { config } = props;
    const projectRoot = props.projectRoot ?? REPOSITORY_ROOT;
    const retention = logRetention(config.aws.retentionDays);
    const serviceName = controlPlaneServiceName(config.fleet.name);
    const { timeZone } = config.schedules;

    this.state = new ControlTable(this, 'State');
    this.escalation = new EscalationTopics(this, 'Escalation', {
      levels: config.escalation.levels,
      displayPrefix: config.fleet.name,
    });
    this.runbooks = new Runbooks(this, 'Runbooks', {
      documentsDir: props.documentsDir ?? join(projectRoot, 'ssm-documents'),
    });
    this.artifacts = new ArtifactBucket(this, 'Artifacts', { accessLogRetentionDays: config.aws.retentionDays });
    this.events = new ControlPlaneEvents(this, 'Events', {
      busName: `${config.fleet.name}-control-plane`,
      auditRetention: retention,
    });
    const commandOutput = new LogGroup(this, 'CommandOutput', { retention });

    const environment: HandlerEnvironment = {
      ACGS_TABLE_NAME: this.state.table.tableName,
      ACGS_EVENT_BUS_NAME: this.events.bus.eventBusName,
      ACGS_TOPIC_ARNS: this.toJsonString(this.escalation.topicArnsByLevel()),
      ACGS_DOCUMENT_NAMES: this.toJsonString(this.runbooks.documentNames),
      ACGS_COMMAND_LOG_GROUP: commandOutput.logGroupName,
      ACGS_FLEET_TAG_KEY: config.aws.fleetTag.key,
      ACGS_FLEET_TAG_VALUE: config.aws.fleetTag.value,
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: CONTROL_PLANE_METRICS.namespace,
    };
    const common = { projectRoot, environment, configText: props.configText, logRetention: retention };

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
      // One cycle at a time: an overrunning cycle makes the next invocation wait (and expire), never overlap.
      reservedConcurrentExecutions: 1,
      // A failed cycle is not retried: the next scheduled one replaces it.
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.seconds(clamp(probePeriod, 60, 21_600)) },
      ...(config.aws.vpc ? { vpc: this.fleetVpc(config.aws.vpc) } : {}),
    });
    const escalationSweep = new ControlPlaneFunction(this, 'EscalationSweep', {
      ...common,
      handler: 'escalationSweep',
      timeout: Duration.seconds(Math.min(50, sweepPeriod - 10)),
      reservedConcurrentExecutions: 1,
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.seconds(clamp(sweepPeriod, 60, 21_600)) },
    });
    const commandStatus = new ControlPlaneFunction(this, 'CommandStatus', {
      ...common,
      handler: 'commandStatus',
      timeout: Duration.seconds(30),
      // Finishing an attempt is idempotent, so a retried event is harmless.
      asyncInvocation: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
    });
    // Invoked only synchronously through its Function URL: no asynchronous failures to queue.
    const operatorApi = new ControlPlaneFunction(this, 'OperatorApi', {
      ...common,
      handler: 'operatorApi',
      timeout: Duration.seconds(30),
    });
    this.functions = { probe, escalationSweep, commandStatus, operatorApi };

    // What each use-case needs, and nothing else.
    for (const f of [probe, escalationSweep, commandStatus, operatorApi]) {
      this.state.grantControlData(f.role);
      this.events.bus.grantPutEventsTo(f.role);
    }
    for (const f of [probe, escalationSweep, operatorApi]) this.escalation.grantPublish(f.role);
    // Only the probe cycle sends restarts. The command-status Lambda reads the outcome from the status event itself,
    // so it gets no SSM permission at all.
    this.grantSendCommand(probe, this.runbooks, config.aws.fleetTag);

    this.events.routeCommandStatus(commandStatus.fn, Object.values(this.runbooks.documentNames));
    this.schedules = new ControlPlaneSchedules(this, 'Schedules', {
      config,
      groupName: this.stackName,
      targets: {
        probe: { fn: probe.fn },
        escalationSweep: { fn: escalationSweep.fn },
        // backup, backupMonitor, cleanup, drill: no handlers yet.
      },
    });

    this.operatorUrl = operatorApi.fn.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
    this.operatorAccess = new ManagedPolicy(this, 'OperatorAccess', {
      managedPolicyName: `${this.stackName}-OperatorAccess`,
      description: `Call the ${config.fleet.name} operator API (its Function URL) and nothing else`,
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
      ],
    });

    // Last: it finds every function and dead-letter queue of the stack.
    this.monitoring = new ControlPlaneMonitoring(this, 'Monitoring', {
      serviceName,
      probePeriodSeconds: probePeriod,
      alarmTopic: this.escalation.topic(1),
      services: config.services.map((s) => s.name),
      dependencies: config.checks.filter((c) => c.kind !== 'prometheus').map((c) => c.name),
      dashboardName: `${this.stackName}-overview`,
    });

    new CfnOutput(this, 'ControlTableName', { value: this.state.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    for (const [level, topic] of this.escalation.topics)
      new CfnOutput(this, `EscalationTopicLevel${level}`, { value: topic.topicArn });
    new CfnOutput(this, 'ArtifactBucketName', { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, 'CommandOutputLogGroup', { value: commandOutput.logGroupName });
    new CfnOutput(this, 'OperatorApiUrl', { value: this.operatorUrl.url });
    new CfnOutput(this, 'OperatorAccessPolicyArn', { value: this.operatorAccess.managedPolicyArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
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
  private grantSendCommand(
    f: ControlPlaneFunction,
    runbooks: Runbooks,
    fleetTag: FleetConfig['aws']['fleetTag'],
  ): void {
    const instances = Arn.format(
      { service: 'ec2', resource: 'instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      this,
    );
    f.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'RunOwnDocuments', actions: ['ssm:SendCommand'], resources: runbooks.documentArns() }),
    );
    f.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'OnFleetInstancesOnly',
        actions: ['ssm:SendCommand'],
        resources: [instances],
        conditions: { StringEquals: { [`ssm:resourceTag/${fleetTag.key}`]: fleetTag.value } },
      }),
    );
    Validations.of(f.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]`,
      reason:
        'Fleet instances are not known when the stack is deployed (they are replaced independently); SendCommand on ' +
        `them is limited by the condition ssm:resourceTag/${fleetTag.key} = "${fleetTag.value}", and only this ` +
        "stack's documents may be sent.",
    });
  }
}

/** Seconds a probe cycle may take: every wave of `probeConcurrency` probes at the full probe timeout, plus overhead. */
export function probeTimeoutSeconds(config: FleetConfig): number {
  const targets = targetsFromConfig(config).length;
  const waves = Math.ceil(targets / config.thresholds.probeConcurrency);
  return Math.max(30, Math.ceil((waves * config.thresholds.probeTimeout) / 1_000) + PROBE_CYCLE_OVERHEAD_SECONDS);
}
