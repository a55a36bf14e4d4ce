import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { EventBus, type IRuleTarget, Rule, type RuleTargetConfig } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { aws_events as EventsRefs } from 'aws-cdk-lib/interfaces';
import { Construct } from 'constructs';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambdas/core/events.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';

/** The detail type SSM Run Command uses for a command's status changes on the default bus. */
export const SSM_COMMAND_STATUS_DETAIL_TYPE = 'EC2 Command Status-change Notification';
/** The detail type SSM Run Command uses for the status changes of a command's invocation on one instance. */
export const SSM_INVOCATION_STATUS_DETAIL_TYPE = 'EC2 Command Invocation Status-change Notification';

/** Retries and event age of every rule target here: a delivery that fails for an hour goes to the rule's queue. */
const RULE_TARGET_RETRY = { retryAttempts: 8, maxEventAge: Duration.hours(1) } as const;

export interface ControlPlaneEventsProps {
  /** Name of the control plane's own event bus. */
  readonly busName: string;
  /** Retention of the audit trail. */
  readonly auditRetention: RetentionDays;
}

/**
 * The control plane's event bus and the audit trail: every event the control plane publishes (source EVENT_SOURCE,
 * the detail types of DETAIL_TYPE) is kept in a CloudWatch log group. `routeCommandStatus` adds the rule that brings
 * SSM Run Command status changes of the stack's own documents from the default bus to a Lambda.
 */
export class ControlPlaneEvents extends Construct {
  readonly bus: EventBus;
  readonly auditLog: LogGroup;
  readonly auditRule: Rule;
  /** Set by `routeCommandStatus` (the Lambda it targets needs the bus first, for its environment). */
  commandStatusRule?: Rule;

  constructor(scope: Construct, id: string, props: ControlPlaneEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.busName,
      description: 'Events of the operations control plane (health changes, incidents, remediation)',
    });
    this.auditLog = new LogGroup(this, 'AuditTrail', { retention: props.auditRetention });
    const auditDlq = new DeadLetterQueue(this, 'AuditDlq', {
      purpose: 'control-plane events that could not be written to the audit trail',
    });
    this.auditRule = new Rule(this, 'AuditRule', {
      eventBus: this.bus,
      description: 'Every control-plane event into the audit trail log group',
      eventPattern: { source: [EVENT_SOURCE], detailType: Object.values(DETAIL_TYPE) },
    });
    this.auditRule.addTarget(new AuditLogTarget(this.auditLog, auditDlq));
  }

  /**
   * Routes SSM status changes of `documentNames` (on the default bus) to `fn`: the commands' own (their aggregate
   * status, and the only event of a command that matched no instance) and their invocations' (one per instance, so
   * that one instance's failure is seen even when others succeed).
   */
  routeCommandStatus(fn: IFunction, documentNames: readonly string[]): Rule {
    const dlq = new DeadLetterQueue(this, 'CommandStatusDlq', {
      purpose: 'SSM command status events that could not be delivered to the command-status Lambda',
    });
    this.commandStatusRule = new Rule(this, 'CommandStatusRule', {
      description:
        "SSM Run Command status changes (commands and invocations) of this stack's documents to the command-status Lambda",
      eventPattern: {
        source: ['aws.ssm'],
        detailType: [SSM_COMMAND_STATUS_DETAIL_TYPE, SSM_INVOCATION_STATUS_DETAIL_TYPE],
        detail: { 'document-name': [...documentNames] },
      },
    });
    this.commandStatusRule.addTarget(new LambdaFunction(fn, { deadLetterQueue: dlq.queue, ...RULE_TARGET_RETRY }));
    return this.commandStatusRule;
  }
}

/**
 * A log group as a rule target, with its access granted by a native `AWS::Logs::ResourcePolicy` (the stock
 * `CloudWatchLogGroup` target installs a custom-resource Lambda for that), retries and a dead-letter queue.
 */
class AuditLogTarget implements IRuleTarget {
  constructor(
    private readonly logGroup: LogGroup,
    private readonly dlq: DeadLetterQueue,
  ) {}

  bind(rule: EventsRefs.IRuleRef): RuleTargetConfig {
    const stack = Stack.of(this.logGroup);
    const ruleArn = rule.ruleRef.ruleArn;
    this.logGroup.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeWritesAuditTrail',
        principals: [new ServicePrincipal('events.amazonaws.com'), new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.dlq.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeDeadLetters',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.dlq.queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      }),
    );
    return {
      arn: stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        resourceName: this.logGroup.logGroupName,
      }),
      deadLetterConfig: { arn: this.dlq.queue.queueArn },
      retryPolicy: {
        maximumRetryAttempts: RULE_TARGET_RETRY.retryAttempts,
        maximumEventAgeInSeconds: RULE_TARGET_RETRY.maxEventAge.toSeconds(),
      },
      targetResource: this.logGroup,
    };
  }
}
