import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { freezePolicy } from '../../../lambdas/core/escalation.ts';
import { initialTargetState, type TargetHealth, type TargetState } from '../../../lambdas/core/health-state.ts';
import type { Incident } from '../../../lambdas/core/incident.ts';
import { openIncident, type ProblemReport, planIncidents } from '../../../lambdas/core/incident-planner.ts';
import type { ProbeReason } from '../../../lambdas/core/probe-evaluation.ts';
import { type Target, targetsFromConfig } from '../../../lambdas/core/targets.ts';
import { loadShippedConfig, MINUTE, T0 } from '../../support/harness.ts';

const config = loadShippedConfig();
const targets = targetsFromConfig(config);
const id = (name: string, from: readonly Target[] = targets) => {
  const found = from.find((t) => t.name === name);
  if (!found) throw new Error(`no target ${name}`);
  return found.id;
};

function state(targetId: string, health: TargetHealth, extra: Partial<TargetState> = {}): TargetState {
  return {
    ...initialTargetState(targetId, T0),
    health,
    ...(health === 'up' ? {} : { failingSince: T0, lastProblem: `${targetId} ${health}` }),
    ...extra,
  };
}

/** Every target up except the named ones. */
function fleet(
  overrides: Record<string, TargetHealth | Partial<TargetState>>,
  from: readonly Target[] = targets,
): Map<string, TargetState> {
  return new Map(
    from.map((t) => {
      const o = overrides[t.name];
      if (o === undefined) return [t.id, state(t.id, 'up')];
      if (typeof o === 'string') return [t.id, state(t.id, o)];
      return [t.id, state(t.id, o.health ?? 'up', o)];
    }),
  );
}

function incidentFor(report: ProblemReport, cfg: FleetConfig = config): Incident {
  return openIncident(report, freezePolicy(cfg), T0).incident;
}

describe('incident planning', () => {
  it('reports one P2 service-down problem keyed by service, check and host when one critical service is down', () => {
    const plan = planIncidents(config, targets, fleet({ auth: 'down' }), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({
      dedupKey: 'auth:health@127.0.0.1',
      kind: 'service-down',
      severity: 'P2',
      services: ['auth'],
      title: 'Auth Service is down',
    });
  });

  it('rates a down non-critical service P3 when the config marks it non-critical', () => {
    const relaxed: FleetConfig = {
      ...config,
      services: config.services.map((s) => (s.name === 'ec' ? { ...s, critical: false } : s)),
    };
    const relaxedTargets = targetsFromConfig(relaxed);
    const plan = planIncidents(relaxed, relaxedTargets, fleet({ ec: 'down' }, relaxedTargets), []);
    expect(plan.reports.map((r) => [r.dedupKey, r.severity])).toEqual([['ec:health@127.0.0.1', 'P3']]);
  });

  it('rates a degraded body P2 and a slow health answer P3 (performance)', () => {
    const degraded = planIncidents(
      config,
      targets,
      fleet({ pgc: { health: 'degraded', problemReason: 'body-status' } }),
      [],
    );
    const slow = planIncidents(
      config,
      targets,
      fleet({ gs: { health: 'degraded', problemReason: 'latency', lastReason: 'ok' } }),
      [],
    );
    expect(degraded.reports[0]).toMatchObject({ kind: 'service-degraded', severity: 'P2' });
    expect(slow.reports[0]).toMatchObject({
      kind: 'performance',
      severity: 'P3',
      title: 'Governance Synthesis Service is slow',
    });
  });

  it('rates a Prometheus signal over its threshold P3 performance', () => {
    const reason: ProbeReason = 'threshold';
    const plan = planIncidents(
      config,
      targets,
      fleet({ 'fleet-latency-p95': { health: 'degraded', problemReason: reason } }),
      [],
    );
    expect(plan.reports[0]).toMatchObject({ kind: 'performance', severity: 'P3', dedupKey: id('fleet-latency-p95') });
  });

  it('opens one P1 naming every dependent service when the database and all services are down', () => {
    const down = Object.fromEntries(
      ['postgresql', ...config.services.map((s) => s.name)].map((n) => [n, 'down' as const]),
    );
    const plan = planIncidents(config, targets, fleet(down), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({
      dedupKey: 'postgresql:postgres@127.0.0.1',
      kind: 'dependency-down',
      severity: 'P1',
      services: ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'],
    });
    expect(plan.reports[0]?.targets).toHaveLength(8);
  });

  it('reports a down non-critical dependency with dependents as one P2 and leaves unrelated services apart', () => {
    const plan = planIncidents(config, targets, fleet({ redis: 'down', auth: 'down', integrity: 'down' }), []);
    const keys = plan.reports.map((r) => [r.dedupKey, r.severity, r.targets.length]);
    // auth depends on redis and is absorbed; integrity does not and stays on its own.
    expect(keys).toEqual([
      ['redis:redis@127.0.0.1', 'P2', 2],
      ['integrity:health@127.0.0.1', 'P2', 1],
    ]);
  });

  it('opens one P1 fleet outage when a quorum of critical services is down at once', () => {
    const plan = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({
      dedupKey: 'fleet-outage@acgs-1',
      kind: 'fleet-outage',
      severity: 'P1',
      services: ['auth', 'ac', 'fv', 'gs'],
      title: 'Complete outage of acgs-1: 4 of 7 services down',
    });
  });

  it('keeps separate P2 incidents when fewer than the quorum are down', () => {
    const plan = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down' }), []);
    expect(plan.reports.map((r) => [r.kind, r.severity])).toEqual([
      ['service-down', 'P2'],
      ['service-down', 'P2'],
      ['service-down', 'P2'],
    ]);
  });

  it('supersedes open per-service incidents when they become part of an outage', () => {
    const authReport = planIncidents(config, targets, fleet({ auth: 'down' }), []).reports[0];
    if (!authReport) throw new Error('expected a report');
    const authIncident = incidentFor(authReport);
    const plan = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), [
      authIncident,
    ]);
    expect(plan.superseded.map((s) => [s.incident.id, s.byKey])).toEqual([[authIncident.id, 'fleet-outage@acgs-1']]);
    expect(plan.recovered).toEqual([]);
  });

  it('keeps an open outage open, covering the members still down, when some recover below the quorum', () => {
    const outage = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), [])
      .reports[0];
    if (!outage) throw new Error('expected a report');
    const open = incidentFor(outage);
    const plan = planIncidents(config, targets, fleet({ gs: 'down' }), [open]);
    expect(plan.reports.map((r) => [r.dedupKey, r.targets])).toEqual([['fleet-outage@acgs-1', [id('gs')]]]);
    expect(plan.recovered).toEqual([]);
  });

  it('adds services that go down while an outage is open to that outage', () => {
    const outage = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), [])
      .reports[0];
    if (!outage) throw new Error('expected a report');
    const plan = planIncidents(config, targets, fleet({ auth: 'down', ec: 'down' }), [incidentFor(outage)]);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]?.services).toEqual(['auth', 'ec']);
  });

  it('lists an outage as recovered once every member is back up', () => {
    const outage = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), [])
      .reports[0];
    if (!outage) throw new Error('expected a report');
    const open = incidentFor(outage);
    const plan = planIncidents(config, targets, fleet({}), [open]);
    expect(plan.reports).toEqual([]);
    expect(plan.recovered.map((i) => i.id)).toEqual([open.id]);
  });

  it('groups a whole host into one incident when all its services are down on a multi-host fleet', () => {
    const multiHost: FleetConfig = {
      ...config,
      services: config.services.map((s, i) => (i < 2 ? { ...s, host: '10.0.0.5' } : s)),
    };
    const multiTargets = targetsFromConfig(multiHost);
    const plan = planIncidents(multiHost, multiTargets, fleet({ auth: 'down', ac: 'down' }, multiTargets), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({
      dedupKey: 'host-outage@10.0.0.5',
      kind: 'host-outage',
      severity: 'P2',
      services: ['auth', 'ac'],
      host: '10.0.0.5',
    });
  });

  it('raises one flapping incident, not a stream, when a service flaps', () => {
    const plan = planIncidents(config, targets, fleet({ pgc: { health: 'up', flapping: true, failingSince: T0 } }), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({ kind: 'flapping', severity: 'P2', flapping: true, dedupKey: id('pgc') });
  });

  it('never counts flapping services toward an outage quorum', () => {
    const flap = { health: 'down' as const, flapping: true };
    const plan = planIncidents(config, targets, fleet({ auth: flap, ac: flap, fv: flap, gs: flap }), []);
    expect(plan.reports.map((r) => r.kind)).toEqual(['flapping', 'flapping', 'flapping', 'flapping']);
  });

  it('lists a per-service incident as recovered once its target is up', () => {
    const report = planIncidents(config, targets, fleet({ auth: 'down' }), []).reports[0];
    if (!report) throw new Error('expected a report');
    const open = incidentFor(report);
    const plan = planIncidents(config, targets, fleet({}), [open]);
    expect(plan.recovered.map((i) => i.id)).toEqual([open.id]);
  });

  it('keeps a per-service incident open while its target is still degraded after being down', () => {
    const report = planIncidents(config, targets, fleet({ auth: 'down' }), []).reports[0];
    if (!report) throw new Error('expected a report');
    const plan = planIncidents(config, targets, fleet({ auth: 'degraded' }), [incidentFor(report)]);
    expect(plan.recovered).toEqual([]);
    expect(plan.reports[0]).toMatchObject({ dedupKey: report.dedupKey, kind: 'service-degraded' });
  });

  it('leaves a backup incident to the backup monitor when the fleet is healthy', () => {
    const backup = incidentFor({
      dedupKey: 'backup:acgs_pgp_db@127.0.0.1',
      kind: 'backup',
      severity: 'P2',
      title: 'No good backup for 31h',
      targets: [],
      services: [],
      flapping: false,
      detail: 'newest good backup is 31h old (max 26h)',
      failingSince: T0,
    });
    const plan = planIncidents(config, targets, fleet({}), [backup]);
    expect(plan.recovered).toEqual([]);
  });

  it('never auto-resolves an incident an operator declared', () => {
    const security = incidentFor({
      dedupKey: 'security:pgc@acgs-1:1',
      kind: 'security',
      severity: 'P1',
      title: 'Suspicious token use',
      targets: [],
      services: ['pgc'],
      flapping: false,
      detail: 'declared',
      failingSince: T0,
    });
    const plan = planIncidents(config, targets, fleet({}), [security]);
    expect(plan.recovered).toEqual([]);
    expect(plan.reports).toEqual([]);
  });

  it('dates the failure from the earliest failing member when a group forms', () => {
    const states = fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' });
    const ac = states.get(id('ac'));
    if (ac) states.set(id('ac'), { ...ac, failingSince: T0 - 5 * MINUTE });
    const plan = planIncidents(config, targets, states, []);
    expect(plan.reports[0]?.failingSince).toBe(T0 - 5 * MINUTE);
  });

  it('supersedes an open fleet outage, rather than calling it recovered, when the database outage takes it over', () => {
    const outage = planIncidents(config, targets, fleet({ auth: 'down', ac: 'down', fv: 'down', gs: 'down' }), [])
      .reports[0];
    if (!outage) throw new Error('expected a report');
    const open = incidentFor(outage);
    const plan = planIncidents(
      config,
      targets,
      fleet({ postgresql: 'down', auth: 'down', ac: 'down', fv: 'down', gs: 'down' }),
      [open],
    );
    expect(plan.recovered).toEqual([]);
    expect(plan.superseded.map((s) => [s.incident.id, s.byKey])).toEqual([[open.id, 'postgresql:postgres@127.0.0.1']]);
  });

  it('keeps a down check without dependents a per-target P3 cycle after cycle', () => {
    const first = planIncidents(config, targets, fleet({ grafana: 'down' }), []).reports[0];
    if (!first) throw new Error('expected a report');
    const again = planIncidents(config, targets, fleet({ grafana: 'down' }), [incidentFor(first)]).reports[0];
    expect([first.severity, again?.severity, again?.title]).toEqual(['P3', 'P3', 'grafana is down']);
  });
});

/** The shipped config with some checks' `dependsOn` replaced. */
function withCheckDependencies(dependsOn: Record<string, string[]>): FleetConfig {
  return {
    ...config,
    checks: config.checks.map((c) => (dependsOn[c.name] ? { ...c, dependsOn: dependsOn[c.name] ?? [] } : c)),
  };
}

const QUERIES = ['fleet-latency-p95', 'fleet-error-rate', 'host-cpu', 'host-memory'];
const NOTHING_RUNNING = Object.fromEntries(targets.map((t) => [t.name, 'down' as const]));

describe('inhibition: one incident per cause', () => {
  it('folds the unreadable queries of a down Prometheus into its incident, which names the unobservable signals', () => {
    const down = Object.fromEntries(['prometheus', ...QUERIES].map((n) => [n, 'down' as const]));
    const plan = planIncidents(config, targets, fleet(down), []);
    expect(plan.reports).toHaveLength(1);
    expect(plan.reports[0]).toMatchObject({
      dedupKey: id('prometheus'),
      kind: 'dependency-down',
      severity: 'P3',
      title: 'prometheus down: latency, error rate, CPU and memory not observable',
      targets: [id('prometheus'), ...QUERIES.map((q) => id(q))],
      services: [],
    });
  });

  it('still reports a query that cannot be read on its own while its Prometheus answers', () => {
    const plan = planIncidents(config, targets, fleet({ 'host-cpu': 'down' }), []);
    expect(plan.reports.map((r) => [r.dedupKey, r.title])).toEqual([[id('host-cpu'), 'host-cpu cannot be read']]);
  });

  it('suppresses the dependents of a dependency transitively, checks and services alike', () => {
    // grafana reads prometheus, haproxy (for the test) fronts grafana: prometheus down takes both along.
    const cfg = withCheckDependencies({ grafana: ['prometheus'], haproxy: ['grafana'] });
    const cfgTargets = targetsFromConfig(cfg);
    const down = Object.fromEntries(['prometheus', 'grafana', 'haproxy', 'host-cpu'].map((n) => [n, 'down' as const]));
    const plan = planIncidents(cfg, cfgTargets, fleet(down, cfgTargets), []);
    expect(plan.reports.map((r) => [r.dedupKey, r.title, r.targets.length])).toEqual([
      [
        id('prometheus', cfgTargets),
        'prometheus down: latency, error rate, CPU and memory not observable; grafana and haproxy impacted',
        4,
      ],
    ]);
  });

  it('takes the dependents of a dependency that is itself down because of another into the root cause', () => {
    const cfg = withCheckDependencies({ redis: ['postgresql'] });
    const cfgTargets = targetsFromConfig(cfg);
    const plan = planIncidents(
      cfg,
      cfgTargets,
      fleet({ postgresql: 'down', redis: 'down', auth: 'down' }, cfgTargets),
      [],
    );
    expect(plan.reports.map((r) => [r.dedupKey, r.targets])).toEqual([
      [id('postgresql'), [id('postgresql'), id('auth'), id('redis')]],
    ]);
  });

  it('opens exactly one P1 complete outage naming every cause when nothing is running', () => {
    const plan = planIncidents(config, targets, fleet(NOTHING_RUNNING), []);
    expect(plan.reports).toHaveLength(1);
    const [outage] = plan.reports;
    expect(outage).toMatchObject({
      dedupKey: 'fleet-outage@acgs-1',
      kind: 'fleet-outage',
      severity: 'P1',
      title:
        'Complete outage of acgs-1: 7 of 7 services down; postgresql, redis, opa, prometheus, grafana and haproxy down too',
      services: ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'],
    });
    expect([...(outage?.targets ?? [])].sort()).toEqual(targets.map((t) => t.id).sort());
    expect(outage?.detail).toContain('prometheus down: latency, error rate, CPU and memory not observable');
  });

  it('keeps the complete outage the one incident while the fleet comes back piece by piece', () => {
    const first = planIncidents(config, targets, fleet(NOTHING_RUNNING), []).reports[0];
    if (!first) throw new Error('expected a report');
    const open = incidentFor(first);
    // The same snapshot again, then PostgreSQL and Prometheus back while everything else is still down.
    const again = planIncidents(config, targets, fleet(NOTHING_RUNNING), [open]);
    const partly = planIncidents(
      config,
      targets,
      fleet({
        ...NOTHING_RUNNING,
        postgresql: 'up',
        prometheus: 'up',
        ...Object.fromEntries(QUERIES.map((q) => [q, 'up'])),
      }),
      [open],
    );
    for (const plan of [again, partly]) {
      expect(plan.reports.map((r) => r.dedupKey)).toEqual(['fleet-outage@acgs-1']);
      expect([plan.recovered, plan.superseded, plan.released]).toEqual([[], [], []]);
    }
    expect(partly.reports[0]?.targets).not.toContain(id('postgresql'));
  });

  it('adds a problem that starts during an open complete outage to it instead of opening another', () => {
    const withoutHaproxy = { ...NOTHING_RUNNING, haproxy: 'up' as const };
    const first = planIncidents(config, targets, fleet(withoutHaproxy), []).reports[0];
    if (!first) throw new Error('expected a report');
    const plan = planIncidents(config, targets, fleet(NOTHING_RUNNING), [incidentFor(first)]);
    expect(plan.reports.map((r) => r.dedupKey)).toEqual(['fleet-outage@acgs-1']);
    expect(plan.reports[0]?.targets).toContain(id('haproxy'));
  });

  it('opens one incident per cause when a second cause starts while the first one is open', () => {
    const pg = planIncidents(config, targets, fleet({ postgresql: 'down', ...allServices('down') }), []).reports[0];
    if (!pg) throw new Error('expected a report');
    const down = Object.fromEntries(['postgresql', 'prometheus', ...QUERIES].map((n) => [n, 'down' as const]));
    const plan = planIncidents(config, targets, fleet({ ...down, ...allServices('down') }), [incidentFor(pg)]);
    expect(plan.reports.map((r) => r.dedupKey)).toEqual([id('postgresql'), id('prometheus')]);
  });

  it('releases the dependents still failing once the dependency is back: they get incidents of their own', () => {
    const pg = planIncidents(config, targets, fleet({ postgresql: 'down', ...allServices('down') }), []).reports[0];
    if (!pg) throw new Error('expected a report');
    const open = incidentFor(pg);
    // PostgreSQL is up; ec still fails; fv is still down but its last probe answered (it is coming back).
    const plan = planIncidents(
      config,
      targets,
      fleet({ ec: { health: 'down', lastStatus: 'unhealthy' }, fv: { health: 'down', lastStatus: 'healthy' } }),
      [open],
    );
    expect(plan.reports.map((r) => [r.dedupKey, r.kind, r.targets])).toEqual([
      [id('postgresql'), 'dependency-down', [id('fv')]],
      [id('ec'), 'service-down', [id('ec')]],
    ]);
    // Once fv is up too, the database incident is released (ec still fails) rather than called recovered.
    const later = planIncidents(config, targets, fleet({ ec: { health: 'down', lastStatus: 'unhealthy' } }), [open]);
    expect(later.reports.map((r) => r.dedupKey)).toEqual([id('ec')]);
    expect(later.recovered).toEqual([]);
    expect(later.released.map((r) => [r.incident.id, r.resolution])).toEqual([
      [open.id, 'postgresql is up again; ec still fails, now reported apart'],
    ]);
  });

  it('suppresses nothing for a dependency that flaps rather than stays down', () => {
    const plan = planIncidents(
      config,
      targets,
      fleet({ prometheus: { health: 'down', flapping: true }, 'host-cpu': 'down' }),
      [],
    );
    expect(plan.reports.map((r) => [r.dedupKey, r.kind])).toEqual([
      [id('prometheus'), 'flapping'],
      [id('host-cpu'), 'performance'],
    ]);
  });
});

function allServices(health: TargetHealth): Record<string, TargetHealth> {
  return Object.fromEntries(config.services.map((s) => [s.name, health]));
}

describe('inhibition with the AWS config (services on two hosts, data and ops machines apart)', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../../config/acgs-1-aws.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const aws = parsed.config;
  const awsTargets = targetsFromConfig(aws);

  it('opens one complete outage when nothing is running', () => {
    const down = Object.fromEntries(awsTargets.map((t) => [t.name, 'down' as const]));
    const plan = planIncidents(aws, awsTargets, fleet(down, awsTargets), []);
    expect(plan.reports.map((r) => [r.kind, r.targets.length])).toEqual([['fleet-outage', awsTargets.length]]);
  });

  it('opens one incident naming the unobservable signals when only Prometheus is down', () => {
    const down = Object.fromEntries(['prometheus', ...QUERIES].map((n) => [n, 'down' as const]));
    const plan = planIncidents(aws, awsTargets, fleet(down, awsTargets), []);
    expect(plan.reports.map((r) => r.title)).toEqual([
      'prometheus down: latency, error rate, CPU and memory not observable',
    ]);
  });
});
