import { describe, expect, it } from 'vitest';
import { resolve } from '../../../lambdas/core/escalation.ts';
import { recordProcedureOnIncidents } from '../../../lambdas/use-cases/record-procedure.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';
import { fleetOutageReport, openedIncident, serviceDownReport } from '../../support/incident-fixtures.ts';

const RESTART = {
  by: 'alice',
  action: 'service.restart',
  services: ['auth'],
  outcome: 'succeeded',
  detail: 'auth healthy after 4s',
} as const;

describe('recordProcedureOnIncidents', () => {
  it('writes the procedure on the open incidents covering its services, and on no other', async () => {
    // Prepare
    const h = createHarness();
    const auth = openedIncident(serviceDownReport('auth'));
    const gs = openedIncident(serviceDownReport('gs'));
    const both = openedIncident(fleetOutageReport(['auth', 'ac']));
    for (const incident of [auth, gs, both]) await h.store.createIncident(incident, []);
    h.clock.set(T0 + MINUTE);
    // Act
    const written = await recordProcedureOnIncidents(h.ctx, RESTART);
    // Assess
    expect(written.map((i) => i.id).sort()).toEqual([auth.id, both.id].sort());
    expect(await h.store.getTimeline(auth.id)).toEqual([{ at: T0 + MINUTE, type: 'procedure', ...RESTART }]);
    expect(await h.store.getTimeline(gs.id)).toEqual([]);
  });

  it('writes a fleet-wide procedure (no services named) on every open incident, never on a resolved one', async () => {
    // Prepare
    const h = createHarness();
    const open = openedIncident(serviceDownReport('auth'));
    const done = resolve(openedIncident(serviceDownReport('gs')), 'bob', 'fixed', T0).incident;
    await h.store.createIncident(open, []);
    await h.store.createIncident(done, []);
    // Act
    const written = await recordProcedureOnIncidents(h.ctx, { ...RESTART, action: 'fleet.stop-all', services: [] });
    // Assess
    expect(written.map((i) => i.id)).toEqual([open.id]);
    expect(await h.store.getTimeline(done.id)).toEqual([]);
  });
});
