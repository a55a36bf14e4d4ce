import { describe, expect, it } from 'vitest';
import { acknowledge, resolve } from '../../../lambdas/core/escalation.ts';
import type { Incident, TimelineEntry } from '../../../lambdas/core/incident.ts';
import { buildIncidentReport, renderIncidentReportMarkdown } from '../../../lambdas/core/incident-report.ts';
import { HOUR, MINUTE, openedIncident, serviceDownReport, T0 } from '../../support/incident-fixtures.ts';

function outage(): { incident: Incident; timeline: TimelineEntry[] } {
  const opened = openedIncident(serviceDownReport('auth', { failingSince: T0 - 2 * MINUTE }), T0);
  const acked = acknowledge(opened, 'alice', T0 + 90 * MINUTE);
  const done = resolve(acked.incident, 'alice', 'restarted | fixed', T0 + 2 * HOUR);
  const timeline: TimelineEntry[] = [
    { at: T0, type: 'opened', severity: 'P2', detail: 'auth: connection refused' },
    { at: T0 + MINUTE, type: 'remediation', action: 'restart', service: 'auth', outcome: 'failed', detail: 'exit 1' },
    {
      at: T0 + 10 * MINUTE,
      type: 'procedure',
      by: 'alice',
      action: 'service.restart',
      services: ['auth'],
      outcome: 'succeeded',
      detail: 'auth healthy | port 8000',
    },
    { at: T0 + 20 * MINUTE, type: 'note', by: 'alice', text: 'disk full\u001b[2J' },
    ...acked.timeline,
    ...done.timeline,
  ];
  return { incident: done.incident, timeline };
}

describe('incident report', () => {
  it('measures detection, acknowledgement and recovery against the response time and the RTO', () => {
    // Prepare
    const { incident, timeline } = outage();
    // Act
    const report = buildIncidentReport(incident, timeline, { rtoMs: HOUR }, T0 + 3 * HOUR);
    // Assess
    expect(report.times).toEqual({
      detection: { ms: 2 * MINUTE, targetMs: null, met: null },
      // P2: respond within 1h; acknowledged after 90 minutes.
      acknowledgement: { ms: 90 * MINUTE, targetMs: HOUR, met: false },
      recovery: { ms: 2 * HOUR + 2 * MINUTE, targetMs: HOUR, met: false },
    });
  });

  it('counts a resolution before any acknowledgement as the response', () => {
    // Prepare
    const opened = openedIncident(serviceDownReport('auth'), T0);
    const done = resolve(opened, 'control-plane', 'recovered', T0 + 10 * MINUTE).incident;
    // Act
    const report = buildIncidentReport(done, [], {}, T0 + HOUR);
    // Assess
    expect(report.times.acknowledgement).toEqual({ ms: 10 * MINUTE, targetMs: HOUR, met: true });
    expect(report.acknowledgedAt).toBeNull();
  });

  it('lists the remediation and the procedures as commands run, with their outcome', () => {
    // Prepare
    const { incident, timeline } = outage();
    // Act
    const report = buildIncidentReport(incident, timeline, {}, T0 + 3 * HOUR);
    // Assess
    expect(report.commands.map((c) => [c.by, c.action, c.services, c.outcome])).toEqual([
      ['control-plane', 'restart', ['auth'], 'failed'],
      ['alice', 'service.restart', ['auth'], 'succeeded'],
    ]);
    expect(report.checklist).toBeNull();
    expect(report.times.recovery.targetMs).toBeNull();
  });

  it('renders Markdown with control characters escaped and table pipes quoted', () => {
    // Prepare
    const { incident, timeline } = outage();
    // Act
    const md = renderIncidentReportMarkdown(buildIncidentReport(incident, timeline, { rtoMs: HOUR }, T0 + 3 * HOUR));
    // Assess
    expect(md).not.toContain('\u001b');
    expect(md).toContain('note by alice: disk full\\x1b[2J');
    expect(md).toContain('| alice | service.restart | auth | succeeded | auth healthy \\| port 8000 |');
    expect(md).toContain('| Recovery (failure to resolution) | 2h 2m | 1h | missed |');
    expect(md).toContain('- Resolution: restarted | fixed');
  });
});
