import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCommandStatusEvent } from '../../../lambdas/adapters/aws/ssm-status-event.ts';
import {
  type CommandStatusFacts,
  judgeCommandStatus,
  judgeUnknownCommand,
  LAMBDA_ASYNC_RETRY_DELAYS_MS,
  UNKNOWN_COMMAND_RETRY_WINDOW_MS,
} from '../../../lambdas/core/command-status.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../integration/aws/fixtures/${name}.json`, import.meta.url), 'utf8'));

const COMMAND = '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const HOST = 'i-0123456789abcdef0';

describe('parseCommandStatusEvent', () => {
  it("reads a command-level event (AWS's documented shape): kind, status, its one target, the event's own time", () => {
    expect(parseCommandStatusEvent(fixture('ssm-command-status-change'))).toEqual({
      kind: 'command',
      commandId: COMMAND,
      documentName: 'ACGS-RestartService',
      ssmStatus: 'Failed',
      status: 'failed',
      instanceId: HOST,
      targets: [HOST],
      requestedAt: Date.parse('2026-12-01T02:03:01.123Z'),
      eventAt: Date.parse('2026-12-01T02:03:04Z'),
    });
  });

  it('reads an invocation-level event: its instance from the detail', () => {
    expect(parseCommandStatusEvent(fixture('ssm-command-invocation-status-change'))).toMatchObject({
      kind: 'invocation',
      commandId: COMMAND,
      ssmStatus: 'DeliveryTimedOut',
      status: 'failed',
      instanceId: HOST,
      eventAt: Date.parse('2026-12-01T02:08:02Z'),
    });
  });

  it('tells an event without resources (targets unknown) from one listing none', () => {
    const event = fixture('ssm-command-status-change') as Record<string, unknown>;
    const { resources: _, ...without } = event;
    expect(parseCommandStatusEvent(without).targets).toBeUndefined();
    expect(parseCommandStatusEvent({ ...event, resources: [] }).targets).toEqual([]);
  });

  it('names the field when the time is not a date', () => {
    const event = fixture('ssm-command-status-change') as Record<string, unknown>;
    expect(() => parseCommandStatusEvent({ ...event, time: 'yesterday' })).toThrow(/time: /);
  });
});

/** The facts of a command that succeeded on HOST, with `overrides` (an undefined one removes the field). */
const facts = (
  overrides: { [K in keyof CommandStatusFacts]?: CommandStatusFacts[K] | undefined },
): CommandStatusFacts =>
  Object.fromEntries(
    Object.entries({
      kind: 'command',
      commandId: COMMAND,
      ssmStatus: 'Success',
      status: 'succeeded',
      targets: [HOST],
      instanceId: HOST,
      ...overrides,
    }).filter(([, v]) => v !== undefined),
  ) as unknown as CommandStatusFacts;

describe('judgeCommandStatus', () => {
  it('waits for anything not final, of a command or an invocation', () => {
    expect(judgeCommandStatus(facts({ ssmStatus: 'InProgress', status: 'pending' }))).toEqual({
      action: 'wait',
      why: 'not final',
    });
    expect(judgeCommandStatus(facts({ kind: 'invocation', ssmStatus: 'Delayed', status: 'pending' })).action).toBe(
      'wait',
    );
  });

  it("does not take one invocation's success for the command's: the others may still fail", () => {
    expect(judgeCommandStatus(facts({ kind: 'invocation' }))).toMatchObject({ action: 'wait' });
  });

  it.each([
    ['DeliveryTimedOut', 'failed'],
    ['Failed', 'failed'],
    ['Cancelled', 'failed'],
    ['TimedOut', 'timed-out'],
  ] as const)('finishes the attempt on an invocation that ended %s, naming the instance', (ssmStatus, status) => {
    expect(judgeCommandStatus(facts({ kind: 'invocation', ssmStatus, status }))).toEqual({
      action: 'finish',
      status,
      detail: `SSM status ${ssmStatus} on ${HOST} (command ${COMMAND})`,
    });
  });

  it("takes the command's Success (every invocation succeeded) when it ran on an instance", () => {
    expect(judgeCommandStatus(facts({}))).toEqual({
      action: 'finish',
      status: 'succeeded',
      detail: `SSM status Success (command ${COMMAND} on ${HOST})`,
    });
    expect(judgeCommandStatus(facts({ targets: undefined, instanceId: undefined }))).toMatchObject({
      status: 'succeeded',
    });
  });

  it('waits on a command Success over several instances: the summary hides undelivered invocations', () => {
    expect(judgeCommandStatus(facts({ targets: [HOST, 'i-0fedcba9876543210'], instanceId: undefined }))).toMatchObject({
      action: 'wait',
    });
    expect(
      judgeCommandStatus(
        facts({ ssmStatus: 'Failed', status: 'failed', targets: [HOST, 'i-0fedcba9876543210'], instanceId: undefined }),
      ),
    ).toMatchObject({ action: 'finish', status: 'failed' });
  });

  it('fails a command Success that lists no instance: its targets matched none, nothing was restarted', () => {
    expect(judgeCommandStatus(facts({ targets: [], instanceId: undefined }))).toMatchObject({
      action: 'finish',
      status: 'failed',
      detail: expect.stringContaining('ran on no instance'),
    });
  });

  it.each([
    ['Incomplete', 'failed'],
    ['Failed', 'failed'],
    ['TimedOut', 'timed-out'],
  ] as const)('finishes on a command that ended %s', (ssmStatus, status) => {
    expect(judgeCommandStatus(facts({ ssmStatus, status }))).toMatchObject({ action: 'finish', status });
  });
});

describe('judgeUnknownCommand', () => {
  const now = Date.UTC(2026, 11, 1, 2, 10, 0);

  it('retries within the window, drops beyond it and without a time', () => {
    expect(judgeUnknownCommand(now - 30_000, now)).toEqual({ action: 'retry', ageMs: 30_000 });
    expect(judgeUnknownCommand(now - UNKNOWN_COMMAND_RETRY_WINDOW_MS, now).action).toBe('retry');
    expect(judgeUnknownCommand(now - UNKNOWN_COMMAND_RETRY_WINDOW_MS - 1_000, now)).toEqual({
      action: 'drop',
      why: 'unknown command, event 301s old (more than 300s): not sent by this control plane',
    });
    expect(judgeUnknownCommand(undefined, now).action).toBe('drop');
    // A host clock ahead of ours: an event "from the future" is recent.
    expect(judgeUnknownCommand(now + 5_000, now)).toEqual({ action: 'retry', ageMs: 0 });
  });

  it("keeps both of Lambda's retries (1 min, then 2 min later) inside the window", () => {
    let at = 0;
    for (const delay of LAMBDA_ASYNC_RETRY_DELAYS_MS) {
      at += delay;
      expect(judgeUnknownCommand(0, at).action).toBe('retry');
    }
  });
});
