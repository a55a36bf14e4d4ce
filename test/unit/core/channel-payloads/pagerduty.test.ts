import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGERDUTY_SEVERITIES,
  PAGERDUTY_LIMITS,
  pagerDutyDedupKey,
  pagerDutyEvent,
} from '../../../../lambdas/core/channel-payloads/pagerduty.ts';
import { pagerDutyEventSchema } from '../../../support/channel-formats.ts';
import {
  escalationTestSteps,
  incidentLifecycle,
  maintenanceSteps,
  notice,
  noticeInput,
  stepInput,
} from '../../../support/channel-lifecycle.ts';
import { MINUTE, T0 } from '../../../support/harness.ts';

const OPTIONS = { routingKey: 'R0123456789abcdef0123456789abcdef' };

describe('pagerDutyEvent', () => {
  it('follows one incident with trigger, acknowledge and resolve under one dedup_key, every event in the published format', () => {
    // Prepare
    const { incident, steps } = incidentLifecycle();
    // Act
    const decisions = steps.map((s) => pagerDutyEvent(stepInput(s), OPTIONS));
    // Assess
    const events = decisions.map((d) => d.event);
    expect(events.map((e) => e?.event_action)).toEqual([
      'trigger', // first page
      'trigger', // escalation page: folds into the open alert
      'trigger', // SLA breach: a trigger log entry on the open alert
      'acknowledge',
      'trigger', // update while acknowledged: PagerDuty stays quiet
      'resolve',
    ]);
    for (const event of events) expect(pagerDutyEventSchema.parse(event)).toEqual(event);
    expect(new Set(events.map((e) => e?.dedup_key))).toEqual(new Set([pagerDutyDedupKey(incident)]));
    expect(pagerDutyDedupKey(incident)).toContain(incident.id);
  });

  it('says what, where and since in the trigger, with the P2 severity mapped to error', () => {
    // Prepare
    const [first] = incidentLifecycle().steps;
    if (!first) throw new Error('no first page');
    // Act
    const event = pagerDutyEvent(stepInput(first), OPTIONS).event;
    // Assess
    expect(event?.payload).toMatchObject({
      summary: expect.stringMatching(
        /^\[P2\] auth is down: New incident \(level 1, Operations\)\. Seen: auth: connection refused$/,
      ),
      source: '127.0.0.1',
      severity: 'error',
      timestamp: new Date(T0 + 5 * MINUTE).toISOString(),
      component: 'auth',
      group: 'acgs-1',
      class: 'service-down',
      custom_details: expect.objectContaining({
        done: ['restart of auth failed (exit 1): port 8000 still held', 'paged level 1 (Operations)'],
        acknowledge: expect.stringMatching(/^acgs-ops incident ack INC-/),
      }),
    });
    expect(event?.routing_key).toBe(OPTIONS.routingKey);
  });

  it('maps severities as configured, the defaults for those the map leaves out', () => {
    // Prepare
    const [first] = incidentLifecycle().steps;
    if (!first) throw new Error('no first page');
    // Act
    const mapped = pagerDutyEvent(stepInput(first), { ...OPTIONS, severityMap: { P2: 'critical' } });
    // Assess
    expect(mapped.event?.payload?.severity).toBe('critical');
    expect(DEFAULT_PAGERDUTY_SEVERITIES).toEqual({ P1: 'critical', P2: 'error', P3: 'warning' });
  });

  it('keeps the dedup_key within 255 and the summary within 1024 characters for a huge incident', () => {
    // Prepare
    const { incident, steps } = incidentLifecycle({
      dedupKey: `auth:${'x'.repeat(600)}@127.0.0.1`,
      title: `auth is down ${'🔥'.repeat(900)}`,
      detail: 'd'.repeat(5_000),
    });
    // Act
    const events = steps.map((s) => pagerDutyEvent(stepInput(s), OPTIONS).event);
    // Assess
    for (const event of events) {
      expect(pagerDutyEventSchema.safeParse(event).success).toBe(true);
      expect(event?.dedup_key).toHaveLength(PAGERDUTY_LIMITS.dedupKey);
    }
    const summary = events[0]?.payload?.summary ?? '';
    expect(summary.length).toBeLessThanOrEqual(1024);
    expect(summary.endsWith('…')).toBe(true);
    expect(summary).not.toMatch(/[\uD800-\uDBFF]…$/);
    expect(pagerDutyDedupKey(incident)).toBe(events[0]?.dedup_key);
  });

  it('skips a trigger for an incident already resolved: it would open a new PagerDuty incident', () => {
    // Prepare
    const resolvedStep = incidentLifecycle().steps.at(-1);
    const resolved = resolvedStep?.notice?.incident;
    if (!resolved || !resolvedStep?.notice) throw new Error('no resolved step');
    const lateUpdate = {
      ...resolvedStep.notice,
      notice: notice('update', T0 + 55 * MINUTE, { by: 'alice', text: 'post-mortem on Monday' }),
    };
    // Act
    const decision = pagerDutyEvent(noticeInput(lateUpdate), OPTIONS);
    // Assess
    expect(decision.event).toBeUndefined();
    expect(decision.skip).toMatch(/resolved: a trigger now would open a new PagerDuty incident/);
  });

  it('skips maintenance windows, which are no alerts', () => {
    // Act
    const decisions = maintenanceSteps().map((s) => pagerDutyEvent(stepInput(s), OPTIONS));
    // Assess
    expect(decisions.map((d) => d.skip)).toEqual([
      'maintenance-started is about no incident: PagerDuty alerts are incidents',
      'maintenance-ended is about no incident: PagerDuty alerts are incidents',
    ]);
  });

  it('sends the escalation test as trigger, acknowledge and resolve, following the timeline entry each test notice stands for', () => {
    // Act
    const events = escalationTestSteps().map((s) => pagerDutyEvent(stepInput(s), OPTIONS).event);
    // Assess
    expect(events.map((e) => e?.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(events[0]?.payload?.severity).toBe('warning');
    for (const event of events) expect(pagerDutyEventSchema.safeParse(event).success).toBe(true);
  });
});
