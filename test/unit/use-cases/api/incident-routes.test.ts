import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../../lambdas/core/incident.ts';
import { handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { sweepEscalations } from '../../../../lambdas/use-cases/sweep-escalations.ts';
import {
  CALLER,
  type Declared,
  declareSecurity,
  type ReportingHarness,
  reportingHarness,
  req,
} from '../../../support/api-calls.ts';
import { MINUTE } from '../../../support/harness.ts';
import { hostileValues } from '../../../support/hostile-values.ts';

async function timelineOf(s: ReportingHarness, id: string): Promise<TimelineEntry[]> {
  return s.h.store.getTimeline(id);
}

const text = (s: ReportingHarness, key: string) => new TextDecoder().decode(s.reports.objects.get(key));

describe('security incident', () => {
  it('isolates the named service, opens a P1, pages through the Executive level and ticks isolate', async () => {
    // Prepare
    const s = reportingHarness();
    // Act
    const declared = await declareSecurity(s);
    // Assess
    expect(declared.severity).toBe('P1');
    expect(s.h.commands.requests.map((r) => [r.document, r.parameters.ServiceName])).toEqual([
      ['acgs-isolate-service', 'pgc'],
    ]);
    expect(await s.h.store.listIsolated()).toEqual(new Set(['pgc']));
    expect(s.h.notifier.sent.map((n) => `${n.page.level} ${n.page.levelName}`)).toEqual([
      '1 Operations',
      '2 Engineering',
      '3 Architecture',
      '4 Executive',
    ]);
    expect(declared.isolation).toEqual([{ service: 'pgc', status: 'succeeded', output: 'service started' }]);
    expect(declared.checklist?.map((i) => [i.step, i.ticked])).toEqual([
      ['isolate', true],
      ['assess', false],
      ['contain', false],
      ['investigate', false],
      ['recover', false],
      ['report', false],
    ]);
    const timeline = await timelineOf(s, declared.id);
    expect(timeline).toContainEqual(
      expect.objectContaining({
        type: 'procedure',
        action: 'service.isolate',
        services: ['pgc'],
        outcome: 'succeeded',
      }),
    );
    expect(timeline).toContainEqual(expect.objectContaining({ type: 'checklist', step: 'isolate', by: CALLER }));
  });

  it('isolates nothing with isolate false, and leaves the isolate step to be ticked', async () => {
    // Prepare
    const s = reportingHarness();
    // Act
    const declared = await declareSecurity(s, { isolate: false });
    // Assess
    expect(s.h.commands.requests).toEqual([]);
    expect(await s.h.store.listIsolated()).toEqual(new Set());
    expect(declared.isolation).toEqual([]);
    expect(declared.checklist?.find((i) => i.step === 'isolate')?.ticked).toBe(false);
  });

  it('reports a failed isolation, records it on the timeline and leaves isolate unticked', async () => {
    // Prepare
    const s = reportingHarness();
    s.h.commands.next = { status: 'failed', exitCode: 1, output: 'port 8005 still listening' };
    // Act
    const declared = await declareSecurity(s);
    // Assess
    expect(declared.isolation).toEqual([{ service: 'pgc', status: 'failed', output: 'port 8005 still listening' }]);
    expect(declared.checklist?.find((i) => i.step === 'isolate')?.ticked).toBe(false);
    expect(await timelineOf(s, declared.id)).toContainEqual(
      expect.objectContaining({ type: 'procedure', outcome: 'failed', detail: 'port 8005 still listening' }),
    );
  });

  it('keeps the incident open and paged when the isolation throws', async () => {
    // Prepare
    const s = reportingHarness();
    s.h.commands.run = async () => {
      throw new Error('SSM throttled');
    };
    // Act
    const declared = await declareSecurity(s);
    // Assess
    expect(declared.isolation).toEqual([{ service: 'pgc', status: 'failed', output: 'SSM throttled' }]);
    expect(s.h.notifier.sent.map((n) => n.page.level)).toContain(4);
  });

  it('re-pages the Executive level on its schedule, never muted by the isolation it caused', async () => {
    // Prepare
    const s = reportingHarness();
    const declared = await declareSecurity(s);
    s.h.notifier.sent.length = 0;
    // Act: the Executive level's P1 response time (15m), then every repeatEvery (30m)
    s.h.clock.advance(15 * MINUTE - 1);
    await sweepEscalations(s.ctx);
    const early = s.h.notifier.lines();
    s.h.clock.advance(1);
    await sweepEscalations(s.ctx);
    s.h.clock.advance(30 * MINUTE);
    await sweepEscalations(s.ctx);
    // Assess
    expect(early).toEqual([]);
    expect(s.h.notifier.sent.map((n) => [n.page.level, n.page.why])).toEqual([
      [4, 'repeated'],
      [4, 'repeated'],
    ]);
    expect(await timelineOf(s, declared.id)).not.toContainEqual(expect.objectContaining({ type: 'page-muted' }));
  });

  it('pages a manual P1 through level 3 only, reaching the Executive level after level 3 has had its time', async () => {
    // Prepare
    const s = reportingHarness();
    await handleApiRequest(
      s.ctx,
      req('POST', '/incidents', { type: 'manual', severity: 'P1', title: 'Outage', services: ['pgc'] }),
    );
    // Act
    const first = s.h.notifier.sent.map((n) => n.page.level);
    s.h.clock.advance(30 * MINUTE);
    await sweepEscalations(s.ctx);
    // Assess
    expect(first).toEqual([1, 2, 3]);
    expect(s.h.notifier.sent.map((n) => n.page.level).slice(3)).toEqual([4]);
  });

  it('refuses a security incident of another severity, an isolating manual one and an unknown service with 400', async () => {
    // Prepare
    const s = reportingHarness();
    const declare = (body: Record<string, unknown>) => handleApiRequest(s.ctx, req('POST', '/incidents', body));
    // Act
    const answers = await Promise.all([
      declare({ type: 'security', severity: 'P2', title: 'x', services: ['pgc'] }),
      declare({ type: 'manual', severity: 'P3', title: 'x', services: ['pgc'], isolate: true }),
      declare({ type: 'manual', title: 'x' }),
      declare({ type: 'security', title: 'x', services: ['nope'] }),
      declare({ type: 'security', title: 'x', services: ['pgc'], isolate: 'yes' }),
    ]);
    // Assess
    expect(answers.map((a) => [a.statusCode, (a.body as { error: string }).error])).toEqual([
      [400, 'severity: a security incident is P1'],
      [400, 'isolate: only a security incident isolates services'],
      [400, 'severity: a manual incident needs a severity (P1, P2 or P3)'],
      [400, 'unknown service(s): nope'],
      [400, 'isolate: Invalid input: expected boolean, received string'],
    ]);
    expect(s.h.commands.requests).toEqual([]);
    expect(await s.h.store.listOpenIncidents()).toEqual([]);
  });
});

describe('security incident with hostile services', () => {
  it('answers 400 naming services for every hostile service name, running nothing', async () => {
    // Prepare
    const s = reportingHarness();
    const names = hostileValues('pgc', '/tmp/acgs-marker');
    // Act
    const answers = await Promise.all(
      names.map((name) =>
        handleApiRequest(s.ctx, req('POST', '/incidents', { type: 'security', title: 't', services: [name] })),
      ),
    );
    // Assess
    for (const a of answers)
      expect(a).toEqual({
        statusCode: 400,
        body: { error: 'services.0: must be a service name (lower-case letters, digits and dashes)' },
      });
    expect(s.h.commands.requests).toEqual([]);
    expect(await s.h.store.listOpenIncidents()).toEqual([]);
  });
});

describe('security checklist', () => {
  it('ticks a step with its note, shows it in the incident, and refuses to tick it twice', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    // Act
    const ticked = await handleApiRequest(
      s.ctx,
      req('POST', `/incidents/${id}/checklist/assess`, { note: 'only pgc touched' }),
    );
    const again = await handleApiRequest(s.ctx, req('POST', `/incidents/${id}/checklist/assess`, {}));
    const shown = await handleApiRequest(s.ctx, req('GET', `/incidents/${id}`));
    // Assess
    expect(ticked.statusCode).toBe(200);
    expect(again).toEqual({
      statusCode: 400,
      body: { error: `step assess of incident ${id} was already ticked by ${CALLER}; add to it with a note` },
    });
    expect((shown.body as Declared).checklist?.find((i) => i.step === 'assess')).toMatchObject({
      ticked: true,
      by: CALLER,
      note: 'only pgc touched',
    });
  });

  it('answers 400 naming the steps for an unknown or hostile step, and for an incident without the checklist', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    const manual = await handleApiRequest(
      s.ctx,
      req('POST', '/incidents', { type: 'manual', severity: 'P3', title: 'Slow', services: ['gs'] }),
    );
    const manualId = (manual.body as { id: string }).id;
    const steps = ['cleanup', ...hostileValues('assess', '/tmp/x').map(encodeURIComponent), 'Assess'];
    // Act
    const answers = await Promise.all(
      steps.map((step) => handleApiRequest(s.ctx, req('POST', `/incidents/${id}/checklist/${step}`, {}))),
    );
    const notSecurity = await handleApiRequest(s.ctx, req('POST', `/incidents/${manualId}/checklist/assess`, {}));
    // Assess
    for (const a of answers) {
      expect(a.statusCode).toBe(400);
      expect((a.body as { error: string }).error).toMatch(
        /^unknown checklist step ".*" \(steps: isolate, assess, contain, investigate, recover, report\)$/,
      );
    }
    expect(notSecurity).toEqual({
      statusCode: 400,
      body: { error: `incident ${manualId} is a manual incident: only security incidents carry the checklist` },
    });
    const ticks = (await timelineOf(s, id)).filter((e) => e.type === 'checklist');
    expect(ticks.map((e) => (e as { step: string }).step)).toEqual(['isolate']);
  });

  it('refuses a hostile or overlong checklist note with 400 naming note', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    // Act
    const answers = await Promise.all(
      ['x\u001b[2J', 'x'.repeat(501), 'a\u0000b', ''].map((note) =>
        handleApiRequest(s.ctx, req('POST', `/incidents/${id}/checklist/assess`, { note })),
      ),
    );
    // Assess
    expect(answers.map((a) => a.statusCode)).toEqual([400, 400, 400, 400]);
    for (const a of answers) expect((a.body as { error: string }).error).toMatch(/^note: /);
  });
});

describe('incident note', () => {
  it('puts a note on the timeline as the caller, on an open or a resolved incident', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    // Act
    const open = await handleApiRequest(s.ctx, req('POST', `/incidents/${id}/note`, { note: 'token rotated' }));
    await handleApiRequest(s.ctx, req('POST', `/incidents/${id}/resolve`, { reason: 'contained' }));
    const resolved = await handleApiRequest(
      s.ctx,
      req('POST', `/incidents/${id}/note`, { note: 'root cause: CI log' }),
    );
    // Assess
    expect([open.statusCode, resolved.statusCode]).toEqual([200, 200]);
    const notes = (await timelineOf(s, id)).filter((e) => e.type === 'note');
    expect(notes.map((e) => [(e as { by: string }).by, (e as { text: string }).text])).toEqual([
      [CALLER, 'token rotated'],
      [CALLER, 'root cause: CI log'],
    ]);
    // The stored report of the resolved incident carries the later note.
    expect(text(s, `incident-reports/${id}.md`)).toContain('root cause: CI log');
  });

  it('answers 400 naming note for a missing, hostile or overlong note, and 404 for an unknown incident', async () => {
    // Prepare
    const s = reportingHarness();
    const { id } = await declareSecurity(s);
    // Act
    const bad = await Promise.all(
      [{}, { note: '' }, { note: 'x\u001b]0;pwned\u0007' }, { note: 'x'.repeat(501) }, { note: 'x', by: 'eve' }].map(
        (body) => handleApiRequest(s.ctx, req('POST', `/incidents/${id}/note`, body)),
      ),
    );
    const unknown = await handleApiRequest(s.ctx, req('POST', '/incidents/INC-NOPE/note', { note: 'x' }));
    // Assess
    expect(bad.map((a) => a.statusCode)).toEqual([400, 400, 400, 400, 400]);
    expect(bad.map((a) => (a.body as { error: string }).error.split(':')[0])).toEqual([
      'note',
      'note',
      'note',
      'note',
      'body',
    ]);
    expect(unknown.statusCode).toBe(404);
    expect((await timelineOf(s, id)).filter((e) => e.type === 'note')).toEqual([]);
  });
});
