import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { checkDependencies, dependencyCycle } from '../../../lambdas/core/check-dependencies.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { SHIPPED_CONFIG } from '../../support/shipped-config.ts';

/** The shipped config with `dependsOn` set on the named checks, as YAML text. */
function shippedWithCheckDependencies(dependsOn: Record<string, unknown>): string {
  const config = parse(SHIPPED_CONFIG) as { checks: Record<string, unknown>[] };
  for (const check of config.checks)
    if (check.name && dependsOn[String(check.name)]) check.dependsOn = dependsOn[String(check.name)];
  return stringify(config);
}

function problemsOf(text: string) {
  const parsed = parseFleetConfig(text);
  if (parsed.ok) throw new Error('expected the config to be rejected, but it parsed');
  return parsed.problems.map((p) => ({ path: p.path, message: p.message }));
}

describe('check dependencies', () => {
  it('makes each Prometheus query of the shipped config depend on the prometheus check of its server', () => {
    const parsed = parseFleetConfig(SHIPPED_CONFIG);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const deps = checkDependencies(parsed.config.checks);
    expect(Object.fromEntries([...deps].filter(([, on]) => on.length > 0))).toEqual({
      'fleet-latency-p95': ['prometheus'],
      'fleet-error-rate': ['prometheus'],
      'host-cpu': ['prometheus'],
      'host-memory': ['prometheus'],
    });
  });

  it('gives a query on a server no http check watches no implicit dependency, and honours a declared one', () => {
    const deps = checkDependencies([
      { name: 'prom', kind: 'http', url: 'http://10.0.0.9:9090/-/healthy', dependsOn: [] },
      { name: 'elsewhere', kind: 'prometheus', url: 'http://10.0.0.7:9090', dependsOn: [] },
      { name: 'declared', kind: 'prometheus', url: 'http://10.0.0.7:9090', dependsOn: ['prom'] },
      { name: 'same', kind: 'prometheus', url: 'http://10.0.0.9:9090/', dependsOn: [] },
    ]);
    expect(Object.fromEntries(deps)).toEqual({ prom: [], elsewhere: [], declared: ['prom'], same: ['prom'] });
  });

  it('finds a cycle, implicit dependencies included', () => {
    const deps = checkDependencies([
      { name: 'prometheus', kind: 'http', url: 'http://127.0.0.1:9090/-/healthy', dependsOn: ['host-cpu'] },
      { name: 'host-cpu', kind: 'prometheus', url: 'http://127.0.0.1:9090', dependsOn: [] },
    ]);
    expect(dependencyCycle(deps)).toEqual(['prometheus', 'host-cpu', 'prometheus']);
    expect(
      dependencyCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('accepts declared dependencies between checks', () => {
    const parsed = parseFleetConfig(shippedWithCheckDependencies({ grafana: ['prometheus'], redis: ['postgresql'] }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.config.checks.find((c) => c.name === 'grafana')?.dependsOn).toEqual(['prometheus']);
    expect(parsed.config.checks.find((c) => c.name === 'haproxy')?.dependsOn).toBeUndefined();
  });

  it('refuses a dependency that names no check, naming the field', () => {
    expect(problemsOf(shippedWithCheckDependencies({ grafana: ['prometheus', 'auth'] }))).toEqual([
      { path: 'checks.4.dependsOn.1', message: '"auth" is not the name of a check in checks' },
    ]);
  });

  it('refuses a check that depends on itself, naming the field', () => {
    expect(problemsOf(shippedWithCheckDependencies({ haproxy: ['haproxy'] }))).toEqual([
      { path: 'checks.5.dependsOn.0', message: '"haproxy" is this check: a check cannot depend on itself' },
    ]);
  });

  it('refuses checks that depend on each other in a cycle, naming the field and the cycle', () => {
    expect(problemsOf(shippedWithCheckDependencies({ redis: ['opa'], opa: ['grafana'], grafana: ['redis'] }))).toEqual([
      {
        path: 'checks.1.dependsOn',
        message: 'checks must not depend on each other in a cycle: redis -> opa -> grafana -> redis',
      },
    ]);
  });

  it('refuses a dependsOn that is not a list of names, naming the field', () => {
    expect(problemsOf(shippedWithCheckDependencies({ grafana: 'prometheus' }))).toEqual([
      expect.objectContaining({ path: 'checks.4.dependsOn' }),
    ]);
  });
});
