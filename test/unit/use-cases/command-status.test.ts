import { describe, expect, it } from 'vitest';
import { UNKNOWN_COMMAND_RETRY_WINDOW_MS } from '../../../lambdas/core/command-status.ts';
import type { ProbeStatus } from '../../../lambdas/core/probe-evaluation.ts';
import type { CommandResult } from '../../../lambdas/ports.ts';
import {
  CommandNotYetRecordedError,
  type CommandStatusEvent,
  recordCommandStatus,
} from '../../../lambdas/use-cases/command-status.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, type Harness, MINUTE, results, SECOND } from '../../support/harness.ts';

/*
 * SSM status-change events of a restart, applied with the memory adapters and a manual clock: an event that comes
 * before the sender has recorded the command id is retried (thrown) while recent, dropped once old; invocation-level
 * failures fail the attempt whatever the command's summary says later.
 */

const RESTART = 'acgs-restart-service';
const COMMAND = '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const HOST_A = 'i-0123456789abcdef0';
const HOST_B = 'i-0fedcba9876543210';

async function cycles(h: Harness, n: number, overrides: Record<string, ProbeStatus> = {}) {
  for (let i = 0; i < n; i++) {
    h.clock.advance(MINUTE);
    const last = await applyProbeResults(h.ctx, results(h.ctx, overrides));
    await Promise.all(last.remediation.inFlight);
  }
}

/** A harness whose auth service is down with a restart sent (command COMMAND) and recorded, pending. */
async function sentRestart(): Promise<Harness> {
  const h = createHarness();
  await cycles(h, 1);
  h.commands.next = { status: 'pending', commandId: COMMAND, output: '' };
  await cycles(h, 3, { auth: 'unhealthy' });
  expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ service: 'auth', outcome: 'pending' });
  return h;
}

/** A command-level Failed event on HOST_A, emitted now, with `overrides` (an undefined one removes the field). */
function event(
  h: Harness,
  overrides: { [K in keyof CommandStatusEvent]?: CommandStatusEvent[K] | undefined } = {},
): CommandStatusEvent {
  const all = {
    kind: 'command',
    commandId: COMMAND,
    ssmStatus: 'Failed',
    status: 'failed',
    targets: [HOST_A],
    instanceId: HOST_A,
    eventAt: h.clock.now(),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as unknown as CommandStatusEvent;
}

async function outcomes(h: Harness): Promise<string[]> {
  const [incident] = await h.store.listOpenIncidents();
  return (await h.store.getTimeline(incident?.id ?? '')).flatMap((e) =>
    e.type === 'remediation' ? [`${e.outcome}: ${e.detail}`] : [],
  );
}

describe('recordCommandStatus: an event that comes before the command id is recorded', () => {
  it('throws a retryable error while the sender has not recorded the id, and records the outcome on the retry', async () => {
    // Prepare: auth is down; its restart's SendCommand has returned to SSM but not yet to the sender, so
    // attachCommand has not run when SSM's status event arrives.
    const h = createHarness();
    await cycles(h, 1);
    let answer: (result: CommandResult) => void = () => undefined;
    h.commands.run = async (request) => {
      h.commands.requests.push(request);
      return new Promise<CommandResult>((resolve) => {
        answer = resolve;
      });
    };
    for (let i = 0; i < 2; i++) {
      h.clock.advance(MINUTE);
      await applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    }
    const run = await (async () => {
      h.clock.advance(MINUTE);
      return applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    })();
    expect(h.commands.requests).toHaveLength(1);
    const failed = event(h, { eventAt: h.clock.now() + 2 * SECOND });
    h.clock.advance(3 * SECOND);
    // Act 1: the first delivery, before attachCommand
    const first = recordCommandStatus(h.ctx, RESTART, failed);
    // Assess 1: retryable, nothing recorded
    await expect(first).rejects.toBeInstanceOf(CommandNotYetRecordedError);
    await expect(first).rejects.toMatchObject({ code: 'COMMAND_NOT_YET_RECORDED' });
    const [pending] = await h.store.listPendingAttempts(h.clock.now() + 1);
    expect(pending).toMatchObject({ service: 'auth', outcome: 'pending' });
    expect(pending?.commandId).toBeUndefined();
    // Act 2: the sender records the id; Lambda retries the event a minute later
    answer({ status: 'pending', commandId: COMMAND, output: '' });
    await Promise.all(run.remediation.inFlight);
    h.clock.advance(MINUTE);
    const retried = await recordCommandStatus(h.ctx, RESTART, failed);
    // Assess 2: the attempt failed with SSM's word, once, and the sweep has nothing left to expire
    expect(retried).toEqual({ commandId: COMMAND, recorded: true, outcome: 'failed' });
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'failed' });
    h.clock.advance(h.ctx.config.remediation.restartTimeout + 2 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(await outcomes(h)).toEqual([
      expect.stringMatching(/^requested: /),
      `failed: restart of auth failed: SSM status Failed (command ${COMMAND} on ${HOST_A})`,
    ]);
  });

  it('retries an unknown id up to the window after the event, and logs and drops it after', async () => {
    const h = createHarness();
    const at = h.clock.now();
    const unknown = event(h, { eventAt: at });
    h.clock.set(at + UNKNOWN_COMMAND_RETRY_WINDOW_MS);
    await expect(recordCommandStatus(h.ctx, RESTART, unknown)).rejects.toBeInstanceOf(CommandNotYetRecordedError);
    h.clock.set(at + UNKNOWN_COMMAND_RETRY_WINDOW_MS + SECOND);
    const dropped = await recordCommandStatus(h.ctx, RESTART, unknown);
    expect(dropped).toEqual({
      commandId: COMMAND,
      recorded: false,
      why: expect.stringMatching(/^unknown command, event 301s old \(more than 300s\)/),
    });
    expect(h.logs.map((l) => l.event)).toEqual(['command-not-yet-recorded', 'command-unknown-dropped']);
  });

  it("falls back to the command's requested time when the event has no time of its own", async () => {
    const h = createHarness();
    const unknown = event(h, { requestedAt: h.clock.now() - 10 * MINUTE, eventAt: undefined });
    expect(await recordCommandStatus(h.ctx, RESTART, unknown)).toMatchObject({ recorded: false });
  });

  it('never retries for a status that is not final, nor for a document of no restart', async () => {
    const h = createHarness();
    const inProgress = event(h, { ssmStatus: 'InProgress', status: 'pending' });
    expect(await recordCommandStatus(h.ctx, RESTART, inProgress)).toMatchObject({ why: 'not final' });
    expect(await recordCommandStatus(h.ctx, undefined, event(h))).toMatchObject({ why: 'document not handled' });
  });
});

describe('recordCommandStatus: invocation-level events', () => {
  it('fails the attempt when one instance timed out while another succeeded, whatever comes after', async () => {
    const h = await sentRestart();
    // Act: A succeeded, B's delivery timed out; the command's own (late, wrong) Success changes nothing.
    const a = await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { kind: 'invocation', ssmStatus: 'Success', status: 'succeeded', instanceId: HOST_A }),
    );
    const b = await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { kind: 'invocation', ssmStatus: 'DeliveryTimedOut', status: 'failed', instanceId: HOST_B }),
    );
    const summary = await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { ssmStatus: 'Success', status: 'succeeded', targets: [HOST_A, HOST_B], instanceId: undefined }),
    );
    // Assess
    expect(a).toMatchObject({ recorded: false, why: expect.stringContaining(`${HOST_A} succeeded`) });
    expect(b).toEqual({ commandId: COMMAND, recorded: true, outcome: 'failed' });
    expect(summary).toMatchObject({ recorded: false, why: expect.stringContaining('over 2 instances') });
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'failed' });
    expect(await outcomes(h)).toEqual([
      expect.stringMatching(/^requested: /),
      `failed: restart of auth failed: SSM status DeliveryTimedOut on ${HOST_B} (command ${COMMAND})`,
    ]);
  });

  it("succeeds on the command's Success when every invocation succeeded", async () => {
    const h = await sentRestart();
    await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { kind: 'invocation', ssmStatus: 'Success', status: 'succeeded' }),
    );
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'pending' });
    await recordCommandStatus(h.ctx, RESTART, event(h, { ssmStatus: 'Success', status: 'succeeded' }));
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'succeeded' });
  });

  it('does not read a Success over several instances as success, whichever events come first', async () => {
    const h = await sentRestart();
    // The summary first, then the invocations (EventBridge does not keep their order)
    await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { ssmStatus: 'Success', status: 'succeeded', targets: [HOST_A, HOST_B], instanceId: undefined }),
    );
    await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { kind: 'invocation', ssmStatus: 'Success', status: 'succeeded', instanceId: HOST_A }),
    );
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'pending' });
    await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { kind: 'invocation', ssmStatus: 'DeliveryTimedOut', status: 'failed', instanceId: HOST_B }),
    );
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({ outcome: 'failed' });
  });

  it('fails a command that SSM ended as Success on no instance (its targets matched none)', async () => {
    const h = await sentRestart();
    await recordCommandStatus(
      h.ctx,
      RESTART,
      event(h, { ssmStatus: 'Success', status: 'succeeded', targets: [], instanceId: undefined }),
    );
    expect(await h.store.findAttemptByCommand(COMMAND)).toMatchObject({
      outcome: 'failed',
      detail: expect.stringContaining('ran on no instance'),
    });
  });
});
