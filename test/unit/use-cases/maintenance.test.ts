import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lambdas/core/errors.ts';
import { endMaintenanceWindow, openMaintenanceWindow } from '../../../lambdas/use-cases/maintenance.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';
import { incidentMutedBy } from '../../support/muted-incident.ts';

const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('openMaintenanceWindow', () => {
  it('stores a window for the whole fleet when no subject is named, starting later when asked', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const window = await openMaintenanceWindow(h.ctx, {
      lengthMs: 2 * HOUR,
      delayMs: 30 * MINUTE,
      reason: ' kernel upgrade ',
      by: 'alice',
    });
    // Assess
    expect(window).toEqual({
      id: `mw-${T0.toString(36)}`,
      subjects: ['*'],
      startsAt: T0 + 30 * MINUTE,
      endsAt: T0 + 150 * MINUTE,
      reason: 'kernel upgrade',
      createdBy: 'alice',
    });
    expect(await h.store.listMaintenanceWindows(T0)).toEqual([window]);
  });

  it('covers a check as well as a service', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const window = await openMaintenanceWindow(h.ctx, {
      subjects: ['postgresql', 'auth'],
      lengthMs: HOUR,
      reason: 'vacuum',
      by: 'alice',
    });
    // Assess
    expect(window.subjects).toEqual(['postgresql', 'auth']);
  });

  it.each([
    [{ lengthMs: 7 * DAY + 1 }, 'a maintenance window lasts between 1m and 7d, got 7d (604800001 ms)'],
    [{ lengthMs: 30_000 }, 'a maintenance window lasts between 1m and 7d, got 30s (30000 ms)'],
    [{ lengthMs: HOUR, delayMs: 31 * DAY }, 'a maintenance window starts between 0ms and 30d from now, got 31d'],
    [{ lengthMs: HOUR, subjects: ['nope'] }, 'unknown service or check: nope'],
    [{ lengthMs: HOUR, reason: '  ' }, 'reason: must not be empty'],
  ])('refuses %j and stores nothing', async (overrides, message) => {
    // Prepare
    const h = createHarness();
    // Act
    const opening = openMaintenanceWindow(h.ctx, { reason: 'work', by: 'alice', ...overrides });
    // Assess
    await expect(opening).rejects.toBeInstanceOf(UsageError);
    await expect(opening).rejects.toThrow(message);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });
});

describe('endMaintenanceWindow', () => {
  it('ends a current window now and unmutes the incidents it muted', async () => {
    // Prepare
    const h = createHarness();
    const window = await openMaintenanceWindow(h.ctx, { lengthMs: 4 * HOUR, reason: 'work', by: 'alice' });
    const muted = await incidentMutedBy(h, window.id, T0 + 2 * HOUR);
    h.clock.advance(30 * MINUTE);
    // Act
    const ended = await endMaintenanceWindow(h.ctx, window.id);
    // Assess
    expect(ended.window).toEqual({ ...window, endsAt: T0 + 30 * MINUTE });
    expect(ended.unmuted.map((i) => i.id)).toEqual([muted.id]);
    expect((await h.store.getIncident(muted.id))?.escalation).toMatchObject({ nextAt: T0 + 30 * MINUTE });
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
  });

  it('ends a window that has not started at its start, so that it never covers anything', async () => {
    // Prepare
    const h = createHarness();
    const window = await openMaintenanceWindow(h.ctx, {
      lengthMs: HOUR,
      delayMs: DAY,
      reason: 'work',
      by: 'alice',
    });
    // Act
    const ended = await endMaintenanceWindow(h.ctx, window.id);
    // Assess
    expect(ended).toEqual({ window: { ...window, endsAt: T0 + DAY }, unmuted: [] });
  });

  it('refuses an id that is no current or future window', async () => {
    // Prepare
    const h = createHarness();
    const window = await openMaintenanceWindow(h.ctx, { lengthMs: HOUR, reason: 'work', by: 'alice' });
    h.clock.advance(2 * HOUR);
    // Act
    const ending = endMaintenanceWindow(h.ctx, window.id);
    // Assess
    await expect(ending).rejects.toThrow(new UsageError(`no current or future maintenance window ${window.id}`));
  });
});
