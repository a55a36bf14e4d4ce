import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDaemon } from '../../lambdas/local/daemon.ts';
import { openLocalRuntime } from '../../lambdas/local/runtime.ts';
import type { Prober } from '../../lambdas/ports.ts';
import { acknowledgeIncident } from '../../lambdas/use-cases/operator-actions.ts';
import { loadShippedConfig, ManualClock, MINUTE, RecordingNotifier, T0 } from '../support/harness.ts';

/*
 * The daemon's scheduled escalation test on real local state (SQLite): the schedule's run opens and pages the test
 * without waiting, and the daemon's own sweep resolves it at the deadline, as passed once acknowledged.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-escalation-daemon-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const healthy: Prober = {
  probe: async (target) => ({
    targetId: target.id,
    name: target.name,
    kind: target.kind,
    status: 'healthy',
    reason: 'ok',
    detail: 'HTTP 200',
    latencyMs: 1,
    checkedAt: T0,
  }),
};

describe('the daemon running the scheduled escalation test', () => {
  it('opens and pages it without waiting, and its sweep resolves it at the deadline: failed, then passed once acknowledged', async () => {
    // Prepare: the shipped config with a weekly test that waits 15m
    const shipped = loadShippedConfig();
    const config = {
      ...shipped,
      schedules: { ...shipped.schedules, escalationTest: { cron: '0 10 * * 1', wait: 15 * MINUTE } },
    };
    const clock = new ManualClock(T0);
    const notifier = new RecordingNotifier();
    const runtime = openLocalRuntime({
      config,
      stateDir: join(root, 'state'),
      env: {},
      write: () => {},
      clock,
      notifier,
    });
    const daemon = new LocalDaemon(runtime, healthy);
    try {
      // Act: one unacknowledged run, then one acknowledged after 3m
      await daemon.escalationTest();
      clock.set(T0 + 15 * MINUTE);
      await daemon.sweep();
      await daemon.escalationTest();
      const [second] = await daemon.ctx.incidents.listOpenIncidents();
      clock.advance(3 * MINUTE);
      if (second) await acknowledgeIncident(daemon.ctx, second.id, 'dave');
      clock.advance(MINUTE);
      await daemon.sweep();
      // Assess
      const all = await daemon.ctx.incidents.listIncidents({ limit: 10 });
      expect(all.map((i) => [i.kind, i.status, i.resolution]).sort()).toEqual([
        ['test', 'resolved', 'escalation test failed: not acknowledged'],
        ['test', 'resolved', 'escalation test passed: acknowledged by dave after 3m'],
      ]);
      expect(notifier.sent.map((n) => n.page.why)).toEqual(['test', 'test']);
    } finally {
      await daemon.stop();
    }
  });
});
