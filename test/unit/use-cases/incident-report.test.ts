import { describe, expect, it } from 'vitest';
import type { Incident } from '../../../lambdas/core/incident.ts';
import type { IncidentReport } from '../../../lambdas/core/incident-report.ts';
import { handleApiRequest } from '../../../lambdas/use-cases/operator-api.ts';
import { clearProblem, raiseProblem } from '../../../lambdas/use-cases/problems.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { CALLER, declareSecurity, type ReportingHarness, reportingHarness, req } from '../../support/api-calls.ts';
import { MINUTE, results } from '../../support/harness.ts';
import { MemoryObjectStore } from '../../support/memory-object-store.ts';

const text = (s: ReportingHarness, key: string) => new TextDecoder().decode(s.reports.objects.get(key));

async function withAutoResolvedOutage(s: ReportingHarness): Promise<Incident> {
  for (let i = 0; i < 4; i++) {
    s.h.clock.advance(MINUTE);
    const r = await applyProbeResults(s.ctx, results(s.ctx, i === 0 ? {} : { auth: 'unhealthy' }));
    await Promise.all(r.remediation.inFlight);
  }
  const [incident] = await s.h.store.listOpenIncidents();
  if (!incident) throw new Error('expected an incident');
  for (let i = 0; i < 3; i++) {
    s.h.clock.advance(MINUTE);
    const r = await applyProbeResults(s.ctx, results(s.ctx));
    await Promise.all(r.remediation.inFlight);
  }
  return incident;
}

describe('incident report', () => {
  it('is written as Markdown and JSON when an operator resolves, with times against the SLA and the questions', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    s.h.clock.advance(5 * MINUTE);
    await handleApiRequest(s.ctx, req('POST', `/incidents/${id}/ack`, {}));
    s.h.clock.advance(40 * MINUTE);
    // Act
    const resolved = await handleApiRequest(s.ctx, req('POST', `/incidents/${id}/resolve`, { reason: 'rotated' }));
    // Assess
    expect(resolved.statusCode).toBe(200);
    expect([...s.reports.objects.keys()].sort()).toEqual([`incident-reports/${id}.json`, `incident-reports/${id}.md`]);
    const report = JSON.parse(text(s, `incident-reports/${id}.json`)) as IncidentReport;
    expect(report.times).toEqual({
      detection: { ms: 0, targetMs: null, met: null },
      acknowledgement: { ms: 5 * MINUTE, targetMs: 15 * MINUTE, met: true },
      recovery: { ms: 45 * MINUTE, targetMs: 60 * MINUTE, met: true },
    });
    expect(report.services).toEqual(['pgc']);
    expect(report.commands).toEqual([
      expect.objectContaining({ by: CALLER, action: 'service.isolate', services: ['pgc'], outcome: 'succeeded' }),
    ]);
    expect(report.questions.map((q) => q.topic)).toEqual(['detection', 'diagnosis', 'mitigation', 'prevention']);
    const md = text(s, `incident-reports/${id}.md`);
    for (const heading of [
      '## Summary',
      '## Times against the SLA',
      '## Commands run',
      '## Security checklist',
      '## Timeline',
      '### Detection',
      '### Diagnosis',
      '### Mitigation',
      '### Prevention',
    ])
      expect(md).toContain(heading);
    expect(md).toContain('| Acknowledgement (incident to ack or resolve) | 5m | 15m | met |');
    expect(md).toContain('- [x] isolate: Immediate: isolate affected systems');
  });

  it('is written when the probe cycle resolves an incident, with the restarts it ran', async () => {
    // Prepare
    const s = reportingHarness();
    // Act
    const incident = await withAutoResolvedOutage(s);
    // Assess
    expect((await s.h.store.getIncident(incident.id))?.status).toBe('resolved');
    const report = JSON.parse(text(s, `incident-reports/${incident.id}.json`)) as IncidentReport;
    expect(report.resolvedBy).toBe('control-plane');
    expect(report.commands.map((c) => [c.action, c.services])).toContainEqual(['restart', ['auth']]);
    expect(report.checklist).toBeNull();
  });

  it('is written when a monitor clears its problem (a backup incident)', async () => {
    // Prepare
    const s = reportingHarness();
    const { incident } = await raiseProblem(
      s.ctx,
      {
        dedupKey: 'backup@acgs-1',
        kind: 'backup',
        severity: 'P2',
        title: 'No backup for 30h',
        targets: [],
        services: [],
        flapping: false,
        detail: 'newest backup is 30h old',
        failingSince: s.h.clock.now(),
      },
      undefined,
      [],
    );
    s.h.clock.advance(MINUTE);
    // Act
    await clearProblem(s.ctx, 'backup@acgs-1', 'a fresh backup was published');
    // Assess
    const report = JSON.parse(text(s, `incident-reports/${incident.id}.json`)) as IncidentReport;
    expect(report).toMatchObject({ kind: 'backup', status: 'resolved', resolution: 'a fresh backup was published' });
  });

  it('does not fail the resolve when the report cannot be written: the failure is logged', async () => {
    // Prepare
    const s = reportingHarness();
    const failing = new (class extends MemoryObjectStore {
      override async put(): Promise<never> {
        throw new Error('AccessDenied');
      }
    })();
    const ctx = { ...s.ctx, reports: failing };
    const declared = await handleApiRequest(
      ctx,
      req('POST', '/incidents', { type: 'security', title: 't', services: ['pgc'] }),
    );
    const { id } = declared.body as { id: string };
    // Act
    const resolved = await handleApiRequest(ctx, req('POST', `/incidents/${id}/resolve`, { reason: 'done' }));
    // Assess
    expect(resolved).toMatchObject({ statusCode: 200, body: { status: 'resolved' } });
    expect(s.h.logs).toContainEqual({ event: 'incident-report-failed', fields: { id, error: 'AccessDenied' } });
  });

  it('is served by GET /incidents/{id}/report as JSON or Markdown, and a bad format is a 400', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    // Act
    const json = await handleApiRequest(s.ctx, req('GET', `/incidents/${id}/report`));
    const md = await handleApiRequest(s.ctx, req('GET', `/incidents/${id}/report`, undefined, { format: 'md' }));
    const bad = await handleApiRequest(s.ctx, req('GET', `/incidents/${id}/report`, undefined, { format: 'pdf' }));
    const missing = await handleApiRequest(s.ctx, req('GET', '/incidents/INC-NOPE/report'));
    // Assess
    expect(json).toMatchObject({ statusCode: 200, body: { id, status: 'open', times: { recovery: { ms: null } } } });
    expect(md).toMatchObject({ statusCode: 200, body: { id, format: 'md' } });
    expect((md.body as { markdown: string }).markdown).toMatch(/^# Incident report INC-/);
    expect(bad).toEqual({ statusCode: 400, body: { error: 'format: must be md or json' } });
    expect(missing.statusCode).toBe(404);
  });
});
