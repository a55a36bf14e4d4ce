import { describe, expect, it } from 'vitest';
import { CALLER, call, openIncidentOn } from '../../../support/api-calls.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';

type Started = { id: string; level: number; channels: string[]; deadline: string; error?: string };

describe('POST /escalation/test', () => {
  it('starts a test through the operator API, answers its id and deadline, and goes on the audit trail', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const response = await call(h, 'POST', '/escalation/test', { level: 1, waitSeconds: 300 });
    // Assess
    expect(response.statusCode).toBe(201);
    const started = response.body as Started;
    expect(started).toMatchObject({
      level: 1,
      channels: ['console', 'pages-file'],
      deadline: new Date(T0 + 5 * MINUTE).toISOString(),
    });
    expect((await h.store.getIncident(started.id))?.kind).toBe('test');
    expect(h.notifier.sent.map((n) => n.page.why)).toEqual(['test']);
    const [audit] = await h.store.listAudit({ limit: 1 });
    expect(audit).toMatchObject({ action: 'escalation.test', caller: CALLER, statusCode: 201 });
    // GET /incidents/{id} shows it waiting
    const shown = await call(h, 'GET', `/incidents/${started.id}`);
    expect(shown.body).toMatchObject({
      status: 'open',
      nextStep: 'escalation test: fails unless acknowledged within 5m',
    });
  });

  it('answers 400 naming the field for an unknown channel, a level out of range or a wait out of range', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const answers = await Promise.all([
      call(h, 'POST', '/escalation/test', { channel: 'slack' }),
      call(h, 'POST', '/escalation/test', { level: 5 }),
      call(h, 'POST', '/escalation/test', { waitSeconds: 5 }),
      call(h, 'POST', '/escalation/test', { wait: 60 }),
    ]);
    // Assess
    expect(answers.map((a) => a.statusCode)).toEqual([400, 400, 400, 400]);
    expect(answers.map((a) => (a.body as { error: string }).error)).toEqual([
      'channel: no page channel named "slack" (page channels: console, pages-file)',
      'level: there is no escalation level 5 (levels 1-4)',
      'waitSeconds: must be 10 to 86400 seconds',
      expect.stringContaining('wait'),
    ]);
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });

  it('answers 502 with the error when no channel took the page, the test resolved as failed', async () => {
    // Prepare
    const h = createHarness();
    h.notifier.failNext = 3;
    // Act
    const response = await call(h, 'POST', '/escalation/test', {});
    // Assess
    expect(response.statusCode).toBe(502);
    expect(response.body).toMatchObject({ error: 'page not delivered: webhook answered 503' });
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });
});

describe('POST /escalation/test/{id}/close', () => {
  it('answers 409 while waiting, then 200 passed once acknowledged', async () => {
    // Prepare
    const h = createHarness();
    const { id } = (await call(h, 'POST', '/escalation/test', {})).body as Started;
    h.clock.advance(MINUTE);
    // Act
    const waiting = await call(h, 'POST', `/escalation/test/${id}/close`, {});
    await call(h, 'POST', `/incidents/${id}/ack`, {});
    const closed = await call(h, 'POST', `/escalation/test/${id}/close`, {});
    // Assess
    expect(waiting.statusCode).toBe(409);
    expect(closed.statusCode).toBe(200);
    expect(closed.body).toMatchObject({
      passed: true,
      resolution: `escalation test passed: acknowledged by ${CALLER} after 1m`,
      incident: { status: 'resolved', mttaMs: MINUTE },
    });
  });

  it('answers 200 failed past the deadline, and 404 for an incident that is no test', async () => {
    // Prepare
    const h = createHarness();
    const { id } = (await call(h, 'POST', '/escalation/test', { waitSeconds: 60 })).body as Started;
    const real = await openIncidentOn(h, 'auth:health@127.0.0.1', ['auth']);
    h.clock.advance(MINUTE);
    // Act
    const closed = await call(h, 'POST', `/escalation/test/${id}/close`, {});
    const notATest = await call(h, 'POST', `/escalation/test/${real}/close`, {});
    // Assess
    expect(closed.body).toMatchObject({ passed: false, resolution: 'escalation test failed: not acknowledged' });
    expect(notATest.statusCode).toBe(404);
  });
});
