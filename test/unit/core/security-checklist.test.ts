import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../lambdas/core/incident.ts';
import {
  parseSecurityStep,
  SECURITY_STEPS,
  securityChecklist,
  tickStep,
} from '../../../lambdas/core/security-checklist.ts';
import { MINUTE, T0 } from '../../support/incident-fixtures.ts';

const SECURITY = { id: 'INC-1', kind: 'security' as const };

describe('security checklist', () => {
  it("is the runbook's six steps in order, none ticked on a fresh timeline", () => {
    // Act
    const list = securityChecklist([{ at: T0, type: 'opened', severity: 'P1', detail: 'declared' }]);
    // Assess
    expect(list.map((i) => [i.step, i.ticked])).toEqual(SECURITY_STEPS.map((s) => [s, false]));
    expect(list[0]?.text).toBe('Immediate: isolate affected systems');
  });

  it('reads ticks back from the timeline, keeping the first tick of a step', () => {
    // Prepare
    const timeline: TimelineEntry[] = [
      { at: T0, type: 'checklist', by: 'alice', step: 'assess', note: 'pgc only' },
      { at: T0 + MINUTE, type: 'checklist', by: 'bob', step: 'assess' },
    ];
    // Act
    const assess = securityChecklist(timeline).find((i) => i.step === 'assess');
    // Assess
    expect(assess).toEqual({
      step: 'assess',
      text: 'Assess: determine scope and impact',
      ticked: true,
      at: T0,
      by: 'alice',
      note: 'pgc only',
    });
  });

  it('ticks a step once, and only on a security incident', () => {
    // Act
    const entry = tickStep(SECURITY, [], { step: 'contain', by: 'alice' }, T0);
    // Assess
    expect(entry).toEqual({ at: T0, type: 'checklist', by: 'alice', step: 'contain' });
    expect(() => tickStep(SECURITY, [entry], { step: 'contain', by: 'bob' }, T0)).toThrow(
      'step contain of incident INC-1 was already ticked by alice; add to it with a note',
    );
    expect(() => tickStep({ id: 'INC-2', kind: 'service-down' }, [], { step: 'contain', by: 'a' }, T0)).toThrow(
      'incident INC-2 is a service-down incident: only security incidents carry the checklist',
    );
  });

  it('names the steps when a step is unknown, quoting it with its control characters escaped and cut short', () => {
    // Act + Assess
    expect(parseSecurityStep('recover')).toBe('recover');
    expect(() => parseSecurityStep('cleanup')).toThrow(
      'unknown checklist step "cleanup" (steps: isolate, assess, contain, investigate, recover, report)',
    );
    expect(() => parseSecurityStep('x\u001b[2J')).toThrow(/^unknown checklist step "x\\u001b\[2J"/);
    expect(() => parseSecurityStep('y'.repeat(300))).toThrow(`"${'y'.repeat(40)}..."`);
  });
});
