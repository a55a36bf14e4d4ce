import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lambdas/core/errors.ts';
import { TEST_NOT_ACKNOWLEDGED } from '../../../lambdas/core/escalation-test.ts';
import { closeEscalationTest, startEscalationTest } from '../../../lambdas/use-cases/escalation-test.ts';
import { acknowledgeIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, type Harness, MINUTE, results, SECOND, T0 } from '../../support/harness.ts';

const HOUR = 60 * MINUTE;

/** The scheduled sweep every minute through `until`. */
async function sweepUntil(h: Harness, until: number): Promise<void> {
  while (h.clock.now() < until) {
    h.clock.advance(MINUTE);
    await sweepEscalations(h.ctx);
  }
}

describe('escalation test', () => {
  it('pages level 1 once through every page channel, even under a maintenance window, and never escalates', async () => {
    // Prepare: a window over the whole fleet
    const h = createHarness();
    await h.store.putMaintenanceWindow({
      id: 'mw-1',
      subjects: ['*'],
      startsAt: T0 - HOUR,
      endsAt: T0 + 10 * HOUR,
      reason: 'upgrade',
      createdBy: 'bob',
    });
    // Act
    const started = await startEscalationTest(h.ctx, { by: 'alice' });
    await sweepUntil(h, T0 + 9 * MINUTE);
    // Assess
    expect(started.routing).toEqual({ level: 1, levelName: 'Operations', channels: ['console', 'pages-file'] });
    expect(started.deadline).toBe(T0 + 10 * MINUTE);
    expect(h.notifier.sent.map((n) => [n.page.level, n.page.why, n.page.severity, n.onlyChannel])).toEqual([
      [1, 'test', 'P3', undefined],
    ]);
    expect(h.notifier.sent[0]?.incident.kind).toBe('test');
    const stored = await h.store.getIncident(started.incident.id);
    expect(stored).toMatchObject({ kind: 'test', severity: 'P3', status: 'open', services: [], targets: [] });
    expect(stored?.escalation).toMatchObject({ level: 1, pages: 1, nextAt: T0 + 10 * MINUTE });
    expect((await h.store.getTimeline(started.incident.id)).map((e) => e.type)).toEqual(['opened', 'paged']);
  });

  it('fails at the deadline when nobody acknowledges: the sweep resolves it, with no further page', async () => {
    // Prepare
    const h = createHarness();
    const started = await startEscalationTest(h.ctx, { by: 'schedule', waitMs: 10 * MINUTE });
    // Act: the sweep for five hours (past the P3 SLA and every level's time)
    await sweepUntil(h, T0 + 5 * HOUR);
    // Assess
    const stored = await h.store.getIncident(started.incident.id);
    expect(stored).toMatchObject({
      status: 'resolved',
      resolvedAt: T0 + 10 * MINUTE,
      resolvedBy: 'control-plane',
      resolution: TEST_NOT_ACKNOWLEDGED,
    });
    expect(h.notifier.sent).toHaveLength(1);
    const timeline = await h.store.getTimeline(started.incident.id);
    expect(timeline.map((e) => e.type)).toEqual(['opened', 'paged', 'resolved']);
  });

  it('passes once acknowledged, naming who and how long it took, closed by the waiting caller or the sweep', async () => {
    // Prepare: two tests, both acknowledged after 2m 30s
    const h = createHarness();
    const waited = await startEscalationTest(h.ctx, { by: 'alice' });
    h.clock.advance(SECOND);
    const scheduled = await startEscalationTest(h.ctx, { by: 'schedule' });
    h.clock.set(T0 + 150 * SECOND);
    await acknowledgeIncident(h.ctx, waited.incident.id, 'bob');
    h.clock.set(T0 + SECOND + 150 * SECOND);
    await acknowledgeIncident(h.ctx, scheduled.incident.id, 'carol');
    // Act: the waiting CLI closes its own; the sweep closes the other
    const closed = await closeEscalationTest(h.ctx, waited.incident.id);
    await sweepEscalations(h.ctx);
    // Assess
    expect(closed.verdict).toEqual({
      passed: true,
      resolution: 'escalation test passed: acknowledged by bob after 2m 30s',
    });
    expect(closed.incident.status).toBe('resolved');
    expect(await h.store.getIncident(scheduled.incident.id)).toMatchObject({
      status: 'resolved',
      resolution: 'escalation test passed: acknowledged by carol after 2m 30s',
    });
    expect(waited.incident.dedupKey).not.toBe(scheduled.incident.dedupKey);
  });

  it('leaves a test still waiting open, without a verdict, when closed before its deadline', async () => {
    // Prepare
    const h = createHarness();
    const started = await startEscalationTest(h.ctx, { by: 'alice' });
    h.clock.advance(5 * MINUTE);
    // Act
    const closed = await closeEscalationTest(h.ctx, started.incident.id);
    // Assess
    expect(closed.verdict).toBeUndefined();
    expect(closed.incident.status).toBe('open');
  });

  it('pages only the channel named, and refuses an unknown one naming the page channels', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const started = await startEscalationTest(h.ctx, { by: 'alice', channel: 'pages-file' });
    const unknown = startEscalationTest(h.ctx, { by: 'alice', channel: 'pagerduty' });
    // Assess
    expect(h.notifier.sent.map((n) => n.onlyChannel)).toEqual(['pages-file']);
    expect(started.routing.channels).toEqual(['pages-file']);
    await expect(unknown).rejects.toThrow(UsageError);
    await expect(unknown).rejects.toThrow(
      'channel: no page channel named "pagerduty" (page channels: console, pages-file)',
    );
    expect(await h.store.listOpenIncidents()).toHaveLength(1);
  });

  it('fails at once, resolved, when no channel takes the page', async () => {
    // Prepare
    const h = createHarness();
    h.notifier.failNext = 3;
    // Act
    const started = await startEscalationTest(h.ctx, { by: 'alice' });
    // Assess
    expect(started.pageError).toBe('webhook answered 503');
    expect(started.incident).toMatchObject({
      status: 'resolved',
      resolution: 'escalation test failed: page not delivered: webhook answered 503',
    });
  });

  it('is neither resolved nor remediated by a probe cycle, healthy or not, and never folds a real incident in', async () => {
    // Prepare
    const h = createHarness();
    const started = await startEscalationTest(h.ctx, { by: 'alice' });
    // Act: a healthy cycle, then three with auth down
    await applyProbeResults(h.ctx, results(h.ctx));
    for (let i = 0; i < 3; i++) {
      h.clock.advance(MINUTE);
      await applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    }
    // Assess
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => [i.kind, i.services])).toEqual([
      ['test', []],
      ['service-down', ['auth']],
    ]);
    expect((await h.store.getIncident(started.incident.id))?.count).toBe(1);
    expect(h.commands.services()).toEqual(['auth']);
  });
});
