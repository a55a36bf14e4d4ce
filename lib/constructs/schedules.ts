import { Aws, Duration, TimeZone } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  type ISchedule,
  type IScheduleTarget,
  Schedule,
  ScheduleExpression,
  ScheduleGroup,
  type ScheduleTargetConfig,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { type ScheduleName, toScheduler } from '../../lambdas/core/schedules.ts';
import { clamp, schedulePeriodSeconds } from '../schedule-period.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';

/** What a schedule runs. */
export interface ScheduleTargetSpec {
  readonly fn: IFunction;
  /**
   * The event the function is invoked with, as JSON (one Lambda serving several schedules tells them apart by it).
   * @default no input (EventBridge Scheduler sends `{}`)
   */
  readonly input?: Readonly<Record<string, string>>;
}

export interface ControlPlaneSchedulesProps {
  readonly config: FleetConfig;
  /**
   * Schedule name -> what it runs. A schedule of the config without an entry here is not deployed (its handler does
   * not exist yet); adding a handler is adding one entry.
   */
  readonly targets: Partial<Record<ScheduleName, ScheduleTargetSpec>>;
  /** Name of the schedule group holding this stack's schedules. */
  readonly groupName: string;
  /**
   * Attempts EventBridge Scheduler makes to invoke a target that is throttled or unavailable, within the event age.
   * @default 3
   */
  readonly retryAttempts?: number;
}

/**
 * EventBridge Scheduler schedules for the config's `schedules`, expressions and time zone from `toScheduler` (the one
 * place that turns config schedules into expressions). Each runs exactly on time (no flexible window), gives up on an
 * invocation older than one period (the next run replaces it), and puts what it gave up on in the schedules' one
 * encrypted dead-letter queue (Scheduler names the schedule in each message's attributes, SCHEDULE_ARN; one queue, so
 * one alarm, $0.10 a month, instead of one per schedule). Each schedule has its own role that may invoke its target
 * and nothing else (plus writing to the queue).
 */
export class ControlPlaneSchedules extends Construct {
  readonly group: ScheduleGroup;
  /** Where every schedule puts the invocations it gave up on. */
  readonly deadLetterQueue: DeadLetterQueue;
  /** Deployed schedules by name. */
  readonly schedules: ReadonlyMap<ScheduleName, Schedule>;

  constructor(scope: Construct, id: string, props: ControlPlaneSchedulesProps) {
    super(scope, id);
    const { config } = props;
    const { timeZone } = config.schedules;
    this.group = new ScheduleGroup(this, 'Group', { scheduleGroupName: props.groupName });
    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', {
      purpose: 'schedule invocations that could not be delivered (the SCHEDULE_ARN attribute names the schedule)',
    });
    const dlq = this.deadLetterQueue;
    const schedules = new Map<ScheduleName, Schedule>();
    for (const [name, target] of Object.entries(props.targets) as [ScheduleName, ScheduleTargetSpec | undefined][]) {
      if (!target) continue;
      const declared = config.schedules[name];
      if (declared === undefined) continue;
      const { expression, timezone } = toScheduler(declared, timeZone);
      const period = schedulePeriodSeconds(declared, timeZone);
      const role = new Role(this, `${pascal(name)}Role`, {
        description: `Lets the ${name} schedule invoke its Lambda`,
        assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
          conditions: {
            StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID, 'aws:SourceArn': this.group.scheduleGroupArn },
          },
        }),
      });
      const schedule = new Schedule(this, pascal(name), {
        description: `${name}: ${expression} (${timezone}), from the fleet config`,
        scheduleGroup: this.group,
        schedule: ScheduleExpression.expression(expression, TimeZone.of(timezone)),
        timeWindow: TimeWindow.off(),
        target: new InvokeOnly(target.fn, {
          role,
          ...(target.input === undefined ? {} : { input: target.input }),
          deadLetterQueue: dlq,
          retryAttempts: props.retryAttempts ?? 3,
          // Scheduler's bounds are 60 s - 24 h.
          maxEventAge: Duration.seconds(clamp(period, 60, 86_400)),
        }),
      });
      // The schedule names its group by name only: make the order explicit.
      schedule.node.addDependency(this.group);
      schedules.set(name, schedule);
    }
    this.schedules = schedules;
  }
}

interface InvokeOnlyOptions {
  readonly role: Role;
  readonly input?: Readonly<Record<string, string>>;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * A Lambda target whose role gets `lambda:InvokeFunction` on the function's ARN exactly (the stock `LambdaInvoke`
 * also grants every version and alias, `<arn>:*`) and `sqs:SendMessage` on its dead-letter queue.
 */
class InvokeOnly implements IScheduleTarget {
  constructor(
    private readonly fn: IFunction,
    private readonly options: InvokeOnlyOptions,
  ) {}

  bind(_schedule: ISchedule): ScheduleTargetConfig {
    const { role, deadLetterQueue, retryAttempts, maxEventAge, input } = this.options;
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [deadLetterQueue.queue.queueArn] }),
    );
    return {
      arn: this.fn.functionArn,
      role,
      ...(input === undefined ? {} : { input: ScheduleTargetInput.fromObject(input) }),
      deadLetterConfig: { arn: deadLetterQueue.queue.queueArn },
      retryPolicy: { maximumRetryAttempts: retryAttempts, maximumEventAgeInSeconds: maxEventAge.toSeconds() },
    };
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
