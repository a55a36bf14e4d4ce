import { ControlPlaneError } from '../../core/errors.ts';
import * as z from '../../core/zod-mini.ts';

/*
 * What SSM Run Command says of a command's state, and the status-change events it sends through EventBridge: pure
 * parsing of AWS's shapes, with no SDK client, so a Lambda that only reads events (command status) does not bundle
 * the SSM client.
 */

export type SsmCommandOutcome = 'succeeded' | 'failed' | 'timed-out' | 'pending';

/** Statuses and status details, compared without spaces and case ("Delivery Timed Out" = "DeliveryTimedOut"). */
const PENDING = new Set(['pending', 'inprogress', 'delayed']);
const TIMED_OUT = new Set(['timedout', 'executiontimedout']);
const FAILED = new Set([
  'failed',
  'cancelled',
  'canceled',
  'cancelling',
  'canceling',
  // Never delivered: the command did not run (and does not count toward MaxErrors).
  'deliverytimedout',
  'undeliverable',
  'terminated',
  'invalidplatform',
  'accessdenied',
  // Command summaries: some invocations were not Success, or none could start.
  'incomplete',
  'noinstancesintag',
  'limitexceeded',
  'rateexceeded',
]);

/**
 * What an SSM command or invocation status (with its status details, when known) means for us. Pending,
 * InProgress and Delayed are `pending`; Success is `succeeded`; TimedOut and ExecutionTimedOut are `timed-out`;
 * every other terminal status (Failed, Cancelled, Cancelling, DeliveryTimedOut, Undeliverable, Terminated,
 * InvalidPlatform, AccessDenied, Incomplete...) is `failed`. Details refine a terminal status, the worse one
 * winning (TimedOut with DeliveryTimedOut is `failed`: the command never ran). An unknown status is `failed`:
 * nothing unrecognised is ever reported as success.
 */
export function mapCommandStatus(status: string, statusDetails?: string): SsmCommandOutcome {
  const s = normalise(status);
  if (PENDING.has(s)) return 'pending';
  const readings = [classify(s), classify(normalise(statusDetails ?? ''))].filter(
    (r): r is Exclude<SsmCommandOutcome, 'pending'> => r !== undefined,
  );
  if (readings.includes('failed') || readings.length === 0) return 'failed';
  return readings.includes('timed-out') ? 'timed-out' : 'succeeded';
}

function classify(s: string): Exclude<SsmCommandOutcome, 'pending'> | undefined {
  if (s === 'success') return 'succeeded';
  if (TIMED_OUT.has(s)) return 'timed-out';
  if (FAILED.has(s)) return 'failed';
  return undefined;
}

function normalise(s: string): string {
  return s.replace(/[\s_-]/g, '').toLowerCase();
}

/** The EventBridge events SSM sends when a command, or one of its invocations, changes status. */
export const SSM_COMMAND_EVENT = {
  source: 'aws.ssm',
  detailType: {
    command: 'EC2 Command Status-change Notification',
    invocation: 'EC2 Command Invocation Status-change Notification',
  },
} as const;

export const commandStatusDetailSchema = z.object({
  'command-id': z.string().check(z.minLength(1)),
  'document-name': z.string().check(z.minLength(1)),
  status: z.string().check(z.minLength(1)),
  'instance-id': z.optional(z.string().check(z.minLength(1))),
  'requested-date-time': z.optional(z.iso.datetime({ offset: true })),
});

export const commandStatusEventSchema = z.object({
  source: z.literal(SSM_COMMAND_EVENT.source),
  'detail-type': z.enum([SSM_COMMAND_EVENT.detailType.command, SSM_COMMAND_EVENT.detailType.invocation]),
  /** When EventBridge received the event (ISO 8601). */
  time: z.optional(z.iso.datetime({ offset: true })),
  /** The ARNs of the command's target instances (EventBridge puts them here, not in the detail). */
  resources: z.optional(z.array(z.string())),
  detail: commandStatusDetailSchema,
});

export interface CommandStatusChange {
  readonly kind: 'command' | 'invocation';
  readonly commandId: string;
  /** The deployed SSM document's name. */
  readonly documentName: string;
  /** SSM's status as sent (Success, Failed, TimedOut, DeliveryTimedOut...). */
  readonly ssmStatus: string;
  readonly status: SsmCommandOutcome;
  /** The invocation's instance; for a command, its only target instance (none when it had several). */
  readonly instanceId?: string;
  /** When the command was sent (epoch ms), when the event says. */
  readonly requestedAt?: number;
  /** When the event was emitted (its EventBridge `time`, epoch ms), when it says. */
  readonly eventAt?: number;
  /** The instance ids of the event's `resources`; absent when the event has no `resources`. */
  readonly targets?: readonly string[];
}

/** Parses an SSM command (or invocation) status-change event; throws naming the field that is wrong. */
export function parseCommandStatusEvent(event: unknown): CommandStatusChange {
  const parsed = commandStatusEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
    throw new ControlPlaneError('INVALID_EVENT', `not an SSM command status-change event: ${problems.join('; ')}`);
  }
  const { detail } = parsed.data;
  const targets = (parsed.data.resources ?? []).flatMap((arn) => INSTANCE_ARN.exec(arn)?.slice(1, 2) ?? []);
  const instanceId = detail['instance-id'] ?? (targets.length === 1 ? targets[0] : undefined);
  const requested = detail['requested-date-time'];
  const time = parsed.data.time;
  return {
    kind: parsed.data['detail-type'] === SSM_COMMAND_EVENT.detailType.command ? 'command' : 'invocation',
    commandId: detail['command-id'],
    documentName: detail['document-name'],
    ssmStatus: detail.status,
    status: mapCommandStatus(detail.status),
    ...(instanceId === undefined ? {} : { instanceId }),
    ...(requested === undefined ? {} : { requestedAt: Date.parse(requested) }),
    ...(time === undefined ? {} : { eventAt: Date.parse(time) }),
    ...(parsed.data.resources === undefined ? {} : { targets }),
  };
}

/** An EC2 instance's or an SSM managed node's ARN, capturing its id. */
const INSTANCE_ARN = /^arn:[\w-]+:(?:ec2|ssm):[\w-]*:\d*:(?:instance|managed-instance)\/((?:i|mi)-[0-9a-f]+)$/;
