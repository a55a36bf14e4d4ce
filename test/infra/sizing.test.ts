import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import { ControlPlaneStack, probeTimeoutSeconds } from '../../lib/control-plane-stack.ts';
import { logRetention } from '../../lib/retention.ts';
import { schedulePeriodSeconds } from '../../lib/schedule-period.ts';
import { ACGS_CONFIG } from '../support/synth-stack.ts';

describe('logRetention', () => {
  it('keeps a supported period as it is and rounds any other up, never down', () => {
    expect(logRetention(90)).toBe(RetentionDays.THREE_MONTHS);
    expect(logRetention(45)).toBe(RetentionDays.TWO_MONTHS);
    expect(logRetention(2)).toBe(RetentionDays.THREE_DAYS);
    expect(logRetention(3650)).toBe(RetentionDays.TEN_YEARS);
  });
});

describe('schedulePeriodSeconds', () => {
  it('is the interval of an every-schedule', () => {
    expect(schedulePeriodSeconds({ every: 120_000 }, 'UTC')).toBe(120);
  });

  it('is the shortest gap between runs of a cron schedule', () => {
    expect(schedulePeriodSeconds({ cron: '*/5 * * * *' }, 'America/New_York')).toBe(300);
    expect(schedulePeriodSeconds({ cron: '0 9,17 * * 1-5' }, 'UTC')).toBe(8 * 3600);
  });

  it('counts a daylight-saving night as the short day it is', () => {
    expect(schedulePeriodSeconds({ cron: '30 1 * * *' }, 'Europe/Berlin')).toBe(23 * 3600);
  });
});

describe('probeTimeoutSeconds', () => {
  const parsed = parseFleetConfig(readFileSync(ACGS_CONFIG, 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1-aws.yaml must be valid');
  const config = parsed.config;

  it('gives one wave of probes at the full probe timeout plus overhead, at least 30 s', () => {
    expect(probeTimeoutSeconds(config)).toBe(30);
  });

  it('grows with the number of waves when targets outnumber the concurrency', () => {
    const slow = { ...config, thresholds: { ...config.thresholds, probeConcurrency: 4, probeTimeout: 10_000 } };
    // 17 targets, 4 at a time: 5 waves of 10 s, plus 25 s.
    expect(probeTimeoutSeconds(slow)).toBe(75);
  });

  it('makes the stack refuse a fleet whose probe cycle cannot finish before the next one starts', () => {
    const serial = { ...config, thresholds: { ...config.thresholds, probeConcurrency: 1 } };
    expect(() => new ControlPlaneStack(new App(), 'too-slow', { config: serial })).toThrow(
      /a probe cycle may take up to 110s .* but the probe runs every 60s/,
    );
  });
});
