import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lambdas/core/errors.ts';
import { MAINTENANCE_WINDOW_DELAY, MAINTENANCE_WINDOW_LENGTH } from '../../../lambdas/core/escalation.ts';
import { checkWindowTiming, endedWindow, maintenanceWindow } from '../../../lambdas/core/maintenance-window.ts';
import { MINUTE, T0 } from '../../support/harness.ts';

const HOUR = 60 * MINUTE;

describe('maintenanceWindow', () => {
  it('is named for the moment it is opened and starts after the delay', () => {
    // Act
    const window = maintenanceWindow(
      { subjects: ['auth'], lengthMs: HOUR, delayMs: 10 * MINUTE, reason: 'r', by: 'alice' },
      T0,
    );
    // Assess
    expect(window).toEqual({
      id: `mw-${T0.toString(36)}`,
      subjects: ['auth'],
      startsAt: T0 + 10 * MINUTE,
      endsAt: T0 + 70 * MINUTE,
      reason: 'r',
      createdBy: 'alice',
    });
  });
});

describe('endedWindow', () => {
  it('ends a running window now and a future one at its start', () => {
    // Prepare
    const window = maintenanceWindow({ subjects: ['*'], lengthMs: HOUR, delayMs: HOUR, reason: 'r', by: 'a' }, T0);
    // Act
    const early = endedWindow(window, T0);
    const during = endedWindow(window, T0 + 90 * MINUTE);
    // Assess
    expect([early.endsAt, during.endsAt]).toEqual([T0 + HOUR, T0 + 90 * MINUTE]);
  });
});

describe('checkWindowTiming', () => {
  it('accepts the bounds themselves', () => {
    expect(() => checkWindowTiming({ lengthMs: MAINTENANCE_WINDOW_LENGTH.min })).not.toThrow();
    expect(() =>
      checkWindowTiming({ lengthMs: MAINTENANCE_WINDOW_LENGTH.max, delayMs: MAINTENANCE_WINDOW_DELAY.max }),
    ).not.toThrow();
  });

  it.each([
    [{ lengthMs: MAINTENANCE_WINDOW_LENGTH.max + 1 }],
    [{ lengthMs: MAINTENANCE_WINDOW_LENGTH.min - 1 }],
    [{ lengthMs: Number.NaN }],
    [{ lengthMs: HOUR, delayMs: -1 }],
    [{ lengthMs: HOUR, delayMs: MAINTENANCE_WINDOW_DELAY.max + 1 }],
  ])('refuses %j as a usage error', (timing) => {
    expect(() => checkWindowTiming(timing)).toThrow(UsageError);
  });
});
