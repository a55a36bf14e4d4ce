import {
  CancelCommandCommand,
  type Command,
  type CommandInvocation,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
  type Target,
} from '@aws-sdk/client-ssm';
import type { CommandTarget } from '../../core/command-target.ts';
import { ControlPlaneError } from '../../core/errors.ts';
import { type Clock, type CommandRequest, type CommandResult, type CommandRunner, systemClock } from '../../ports.ts';
import { mapCommandStatus } from './ssm-status-event.ts';

/**
 * Runs the SSM documents of `ssm-documents/` through SSM Run Command, as deployed by the stack.
 *
 * - `dispatch` mode (Lambdas): sends the command and returns `pending` with its id at once; the outcome comes back
 *   through the SSM status-change event (`parseCommandStatusEvent`), or the sweep expires the attempt.
 * - `wait` mode (operator commands against AWS): polls until the command is final, or until the request's timeout;
 *   then the command is cancelled and the result is `timed-out` (a command stuck InProgress counts as timed out).
 *
 * The outcome follows every invocation, not only the command's summary: any invocation that is not Success makes
 * the result a failure (DeliveryTimedOut does not count toward MaxErrors, so the summary alone can look better than
 * what happened), and a command that reached no instance failed.
 */
/** These instances, or the instances carrying every one of these tags (SSM ANDs the keys of a command's Targets). */
export type SsmTarget = CommandTarget;

export interface SsmCommandRunnerOptions {
  readonly mode: 'dispatch' | 'wait';
  /** Our document name (`ssm-documents/<name>.yaml`) -> the deployed SSM document's name. */
  readonly documentNames: Readonly<Record<string, string>>;
  /** Where commands run: fixed, or chosen per request. */
  readonly target: SsmTarget | ((request: CommandRequest) => SsmTarget);
  /** CloudWatch Logs group receiving every command's output. @default no CloudWatch output */
  readonly logGroupName?: string;
  /**
   * Per our document name, the document's own parameter that bounds its execution (`executionTimeout` in the
   * AWS-RunShellScript style): set to the request's timeout in seconds unless the request sets it.
   * @default none: our documents bound their own waits with their parameters
   */
  readonly executionTimeoutParameters?: Readonly<Record<string, string>>;
  /** Instances running the command at once: one, so a bad command cannot take every host down together. @default '1' */
  readonly maxConcurrency?: string;
  /** Failed invocations after which SSM stops sending the command to more instances. @default '0' */
  readonly maxErrors?: string;
  /** Wait mode: time between status polls. @default 2000 */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
  /** Wait mode: how to wait between polls (tests pass one that moves a manual clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** SendCommand's TimeoutSeconds bounds. */
const MIN_DELIVERY_TIMEOUT_S = 30;
const MAX_DELIVERY_TIMEOUT_S = 2_592_000;
const MAX_INSTANCE_IDS = 50;
/** SendCommand takes at most five Targets. */
const MAX_TARGETS = 5;
const INSTANCE_ID = /^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$/;
/** SendCommand errors meaning the request itself was refused: nothing ran anywhere. */
const REFUSALS = new Set([
  'InvalidParameters',
  'InvalidDocument',
  'InvalidDocumentVersion',
  'InvalidInstanceId',
  'DuplicateInstanceId',
  'UnsupportedPlatformType',
  'MaxDocumentSizeExceeded',
  'InvalidOutputFolder',
  'InvalidNotificationConfig',
  'InvalidRole',
]);

export class SsmCommandRunner implements CommandRunner {
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly client: SSMClient,
    private readonly options: SsmCommandRunnerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
  }

  async run(request: CommandRequest): Promise<CommandResult> {
    if (!Number.isFinite(request.timeoutMs) || request.timeoutMs <= 0)
      return rejected(`timeoutMs must be a positive number of milliseconds, got ${request.timeoutMs}`);
    const documentName = this.options.documentNames[request.document];
    if (documentName === undefined)
      return rejected(`unknown document ${request.document}: no deployed SSM document is mapped to it`);
    const target = typeof this.options.target === 'function' ? this.options.target(request) : this.options.target;
    const targetProblem = checkTarget(target);
    if (targetProblem) return rejected(targetProblem);

    const startedAt = this.clock.now();
    const timeoutSeconds = Math.ceil(request.timeoutMs / 1000);
    const parameters: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(request.parameters)) parameters[name] = [value];
    const limitParameter = this.options.executionTimeoutParameters?.[request.document];
    if (limitParameter !== undefined && parameters[limitParameter] === undefined)
      parameters[limitParameter] = [String(timeoutSeconds)];

    let commandId: string;
    try {
      const out = await this.client.send(
        new SendCommandCommand({
          DocumentName: documentName,
          Comment: `acgs-ops ${request.document}`.slice(0, 100),
          Parameters: parameters,
          ...('instanceIds' in target
            ? { InstanceIds: [...target.instanceIds] }
            : { Targets: target.tags.map((t): Target => ({ Key: `tag:${t.key}`, Values: [t.value] })) }),
          // A command not delivered within the caller's time must not run later, when nobody waits for it.
          TimeoutSeconds: Math.min(MAX_DELIVERY_TIMEOUT_S, Math.max(MIN_DELIVERY_TIMEOUT_S, timeoutSeconds)),
          MaxConcurrency: this.options.maxConcurrency ?? '1',
          MaxErrors: this.options.maxErrors ?? '0',
          ...(this.options.logGroupName === undefined
            ? {}
            : {
                CloudWatchOutputConfig: {
                  CloudWatchOutputEnabled: true,
                  CloudWatchLogGroupName: this.options.logGroupName,
                },
              }),
        }),
      );
      const id = out.Command?.CommandId;
      if (!id) throw new ControlPlaneError('SSM_SEND', `SendCommand for ${documentName} returned no command id`);
      commandId = id;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (REFUSALS.has(name))
        return rejected(`SSM refused ${documentName}: ${name}: ${error instanceof Error ? error.message : ''}`);
      throw error;
    }

    const sent = `sent ${documentName} as command ${commandId} to ${describeTarget(target)}`;
    if (this.options.mode === 'dispatch') return { status: 'pending', commandId, output: `${sent}\n` };
    return this.waitFor(commandId, sent, startedAt + request.timeoutMs, request.timeoutMs);
  }

  private async waitFor(commandId: string, sent: string, deadline: number, timeoutMs: number): Promise<CommandResult> {
    for (;;) {
      const out = await this.client.send(new ListCommandsCommand({ CommandId: commandId }));
      const command = out.Commands?.[0];
      if (command && mapCommandStatus(command.Status ?? '', command.StatusDetails) !== 'pending')
        return this.outcome(commandId, command, sent);
      const now = this.clock.now();
      if (now >= deadline) return this.cancel(commandId, command, sent, timeoutMs);
      await this.sleep(Math.min(this.pollIntervalMs, deadline - now));
    }
  }

  /**
   * The final result. The output ends with the invocations' own output, so its last line is the script's last
   * word (the documents print their reason for failing last), as with the local runner.
   */
  private async outcome(commandId: string, command: Command, sent: string): Promise<CommandResult> {
    const invocations = await this.invocations(commandId);
    const where = this.options.logGroupName ? `; full output in CloudWatch Logs ${this.options.logGroupName}` : '';
    const summary = `command ${commandId}: ${statusText(command.Status, command.StatusDetails)}${where}`;
    if (invocations.length === 0)
      return {
        status: 'failed',
        commandId,
        output: `${sent}\n${summary}; it ran on no instance (none matched the targets)\n`,
      };
    const results = [
      mapCommandStatus(command.Status ?? '', command.StatusDetails),
      ...invocations.map((i) => mapCommandStatus(i.Status ?? '', i.StatusDetails)),
    ];
    const worst = results.includes('failed') ? 'failed' : results.includes('timed-out') ? 'timed-out' : 'succeeded';
    const bad = invocations.find((i) => mapCommandStatus(i.Status ?? '', i.StatusDetails) !== 'succeeded');
    const exitCode = exitCodeOf(bad ?? (invocations.length === 1 ? invocations[0] : undefined));
    const lines = [sent, summary, ...invocations.flatMap(describeInvocation)];
    return {
      status: worst,
      commandId,
      ...(exitCode === undefined ? {} : { exitCode }),
      output: `${lines.join('\n')}\n`,
    };
  }

  private async cancel(
    commandId: string,
    command: Command | undefined,
    sent: string,
    timeoutMs: number,
  ): Promise<CommandResult> {
    const state = command ? statusText(command.Status, command.StatusDetails) : 'not listed yet';
    let cancelled = 'cancel requested';
    try {
      await this.client.send(new CancelCommandCommand({ CommandId: commandId }));
    } catch (error) {
      // The timeout stands either way; the failed cancel is reported with it.
      cancelled = `cancel failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    }
    return {
      status: 'timed-out',
      commandId,
      output: `${sent}\ncommand ${commandId} still ${state} after ${timeoutMs} ms; ${cancelled}\n`,
    };
  }

  private async invocations(commandId: string): Promise<CommandInvocation[]> {
    const all: CommandInvocation[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListCommandInvocationsCommand({
          CommandId: commandId,
          Details: true,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      );
      all.push(...(out.CommandInvocations ?? []));
      nextToken = out.NextToken;
    } while (nextToken);
    return all;
  }
}

function rejected(reason: string): CommandResult {
  return { status: 'rejected', output: `rejected, nothing was run: ${reason}` };
}

function checkTarget(target: SsmTarget): string | undefined {
  if ('instanceIds' in target) {
    const ids = target.instanceIds;
    if (ids.length === 0 || ids.length > MAX_INSTANCE_IDS)
      return `target needs 1 to ${MAX_INSTANCE_IDS} instance ids, got ${ids.length}`;
    const bad = ids.find((id) => !INSTANCE_ID.test(id));
    return bad === undefined ? undefined : `"${bad}" is not an instance id (i-... or mi-...)`;
  }
  if (target.tags.length === 0 || target.tags.length > MAX_TARGETS)
    return `target needs 1 to ${MAX_TARGETS} tags, got ${target.tags.length}`;
  const keys = target.tags.map((t) => t.key);
  if (keys.includes('')) return 'target tag key is empty';
  // Values of one key are ORed by SSM: the same key twice would widen the target, never narrow it.
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  return twice === undefined ? undefined : `target tag ${twice} is given twice`;
}

function describeTarget(target: SsmTarget): string {
  return 'instanceIds' in target
    ? `instances ${target.instanceIds.join(', ')}`
    : `instances tagged ${target.tags.map((t) => `${t.key}=${t.value}`).join(' and ')}`;
}

function statusText(status: string | undefined, details: string | undefined): string {
  return details && details !== status ? `${status ?? '?'} (${details})` : (status ?? '?');
}

function describeInvocation(invocation: CommandInvocation): string[] {
  const head = `${invocation.InstanceId ?? '?'}: ${statusText(invocation.Status, invocation.StatusDetails)}`;
  const code = exitCodeOf(invocation);
  const output = (invocation.CommandPlugins ?? [])
    .map((p) => p.Output?.trimEnd() ?? '')
    .filter((o) => o !== '')
    .join('\n');
  return [`${head}${code === undefined ? '' : `, exit ${code}`}`, ...(output ? [output] : [])];
}

/** The exit code of an invocation's script; SSM reports -1 when it never ran. */
function exitCodeOf(invocation: CommandInvocation | undefined): number | undefined {
  const code = invocation?.CommandPlugins?.find((p) => p.ResponseCode !== undefined)?.ResponseCode;
  return code === undefined || code < 0 ? undefined : code;
}
