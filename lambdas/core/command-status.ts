/**
 * What an SSM Run Command status-change event means for a command the control plane sent (pure: no I/O).
 *
 * SSM sends two kinds of event to EventBridge: one per command ("EC2 Command Status-change Notification", its
 * aggregate status) and one per invocation, i.e. per instance ("EC2 Command Invocation Status-change
 * Notification"). Both are routed and both are used:
 *
 * - An invocation that ends in anything but Success (Failed, TimedOut, DeliveryTimedOut, Cancelled...) fails the
 *   command at once, naming its instance: a mix of delivered and undelivered invocations never reads as success.
 * - An invocation that succeeded proves nothing of the others (there may be several, still running): it waits.
 * - Success comes from the command's own event only, and only when it ran on exactly one instance (the event's
 *   `resources` list one; or say nothing): then the summary is that one invocation's status. Over several instances
 *   SSM's summary can say Success though an invocation was never delivered (DeliveryTimedOut does not count toward
 *   MaxErrors), so it proves nothing: the attempt waits, failed by any invocation's failure, else expired by the
 *   sweep. Restarts go to exactly the instance of their service, so a restart that reached several is wrong anyway.
 * - A command Success whose event lists no instance ran nowhere (its targets matched none): failed.
 *
 * So the command-level event is still needed: a command whose targets matched no instance has no invocation, hence
 * no invocation event, and only its command event says it ended (likewise a command cancelled before delivery); and
 * it carries the success of a one-instance command.
 *
 * Outcomes are idempotent downstream (a finished attempt is never finished again), so whichever event comes first
 * decides, and a later one changes nothing: a failure cannot be overwritten by a success arriving late.
 */

export type CommandOutcome = 'succeeded' | 'failed' | 'timed-out' | 'pending';

/** The fields of a status-change event the decision needs (`parseCommandStatusEvent` gives them). */
export interface CommandStatusFacts {
  readonly kind: 'command' | 'invocation';
  readonly commandId: string;
  /** SSM's status as sent (Success, Failed, DeliveryTimedOut...). */
  readonly ssmStatus: string;
  /** `ssmStatus` as an outcome (`mapCommandStatus`). */
  readonly status: CommandOutcome;
  /** The invocation's instance; for a command, its only target instance. */
  readonly instanceId?: string;
  /** Instance ids the event lists in `resources`; undefined when the event has no `resources` field. */
  readonly targets?: readonly string[];
}

export type CommandVerdict =
  | { readonly action: 'wait'; readonly why: string }
  | { readonly action: 'finish'; readonly status: Exclude<CommandOutcome, 'pending'>; readonly detail: string };

/** Decides what one status-change event does to the command's attempt. See the module comment. */
export function judgeCommandStatus(facts: CommandStatusFacts): CommandVerdict {
  if (facts.status === 'pending') return { action: 'wait', why: 'not final' };
  if (facts.kind === 'invocation') {
    const where = facts.instanceId ?? 'an instance';
    if (facts.status === 'succeeded')
      return { action: 'wait', why: `${where} succeeded; the command's own status decides for every instance` };
    return {
      action: 'finish',
      status: facts.status,
      detail: `SSM status ${facts.ssmStatus} on ${where} (command ${facts.commandId})`,
    };
  }
  const on = facts.instanceId ? ` on ${facts.instanceId}` : '';
  if (facts.status === 'succeeded' && facts.targets !== undefined && facts.targets.length === 0)
    return {
      action: 'finish',
      status: 'failed',
      detail: `SSM status ${facts.ssmStatus} but the command ran on no instance (none matched its targets; command ${facts.commandId})`,
    };
  if (facts.status === 'succeeded' && facts.targets !== undefined && facts.targets.length > 1)
    return {
      action: 'wait',
      why: `SSM status ${facts.ssmStatus} over ${facts.targets.length} instances proves no invocation's success; their own events decide`,
    };
  return {
    action: 'finish',
    status: facts.status,
    detail: `SSM status ${facts.ssmStatus} (command ${facts.commandId}${on})`,
  };
}

/**
 * How long after its event an unknown command id is still taken for one whose sender has not recorded it yet
 * (`attachCommand` runs just after SendCommand returns, and SSM's first events can come before): the event is
 * retried by Lambda's asynchronous retries rather than dropped. Older, it is not ours to wait for: dropped.
 *
 * Lambda retries a failed asynchronous invocation twice, one minute and then two minutes later
 * (LAMBDA_ASYNC_RETRY_DELAYS_MS): the last retry comes about three minutes after the first delivery, inside this
 * window, so every retry is spent on a command the sender may still record.
 */
export const UNKNOWN_COMMAND_RETRY_WINDOW_MS = 5 * 60_000;

/** Lambda's waits before its two retries of an asynchronous invocation that failed (per the Lambda docs). */
export const LAMBDA_ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;

export type UnknownCommandVerdict =
  | { readonly action: 'retry'; readonly ageMs: number }
  | { readonly action: 'drop'; readonly why: string };

/**
 * What to do with a final status of a command id no attempt carries: retry while the event is younger than
 * `UNKNOWN_COMMAND_RETRY_WINDOW_MS` (its sender may still be recording it), drop otherwise. `eventAt` is the event's
 * own time (EventBridge's `time`), else the command's requested time; an event with neither is dropped.
 */
export function judgeUnknownCommand(eventAt: number | undefined, now: number): UnknownCommandVerdict {
  if (eventAt === undefined || !Number.isFinite(eventAt))
    return { action: 'drop', why: 'unknown command, and the event has no time to wait from' };
  const ageMs = Math.max(0, now - eventAt);
  if (ageMs <= UNKNOWN_COMMAND_RETRY_WINDOW_MS) return { action: 'retry', ageMs };
  return {
    action: 'drop',
    why: `unknown command, event ${Math.round(ageMs / 1000)}s old (more than ${UNKNOWN_COMMAND_RETRY_WINDOW_MS / 1000}s): not sent by this control plane`,
  };
}
