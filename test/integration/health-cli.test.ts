import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type LocalServer,
  startFakePrometheus,
  startFakeRedis,
  startHttpServer,
} from '../support/local-servers.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { configDir, fleetYaml } from '../support/test-fleet.ts';

const TIMEOUT_MS = 1_500;

interface TargetJson {
  name: string;
  kind: string;
  status: string;
  reason: string;
  detail: string;
  httpStatus: number | null;
  latencyMs: number;
  value?: number;
}
interface HealthJson {
  overall: string;
  checkedAt: string;
  durationMs: number;
  servicesHealthy: number;
  servicesTotal: number;
  criticalDown: string[];
  targets: TargetJson[];
}

function parseReport(stdout: string): HealthJson {
  return JSON.parse(stdout) as HealthJson;
}

function byName(report: HealthJson): Record<string, TargetJson> {
  return Object.fromEntries(report.targets.map((t) => [t.name, t]));
}

const servers: Record<string, LocalServer> = {};
let prometheus: LocalServer & { queries: string[] };
let refusedPort: number;
let configs: Awaited<ReturnType<typeof configDir>>;

beforeAll(async () => {
  configs = await configDir();
  Object.assign(servers, {
    raw: await startHttpServer({ body: { status: 'healthy', service: 'auth_service' } }),
    envelope: await startHttpServer({
      body: { status: 'success', data: { status: 'healthy', service: 'ac' }, metadata: { version: '1' } },
    }),
    text: await startHttpServer({ body: 'OK' }),
    pgc: await startHttpServer({ body: { status: 'degraded', service: 'pgc_service' } }),
    sick: await startHttpServer({ body: { status: 'unhealthy', service: 'gs_service' } }),
    broken: await startHttpServer({ status: 500, body: 'Internal Server Error: response validation failed' }),
    slow: await startHttpServer({ body: { status: 'healthy' }, delayMs: 800 }),
    hanging: await startHttpServer({ hang: true }),
    redis: await startFakeRedis(),
    redisNoAuth: await startFakeRedis('-NOAUTH Authentication required.'),
  });
  prometheus = await startFakePrometheus({ p95: '123.4', errors: '7.5', empty: undefined });
  refusedPort = await freePort();
});

afterAll(async () => {
  await Promise.all([...Object.values(servers), prometheus].map((s) => s?.close()));
  await configs?.remove();
});

function port(name: string): number {
  const server = servers[name];
  if (!server) throw new Error(`no test server ${name}`);
  return server.port;
}

const prometheusUrl = () => `http://127.0.0.1:${prometheus.port}`;

describe('acgs-ops health against real local servers', () => {
  it('judges every kind of answer and exits 2 when half or fewer of the services are healthy', async () => {
    // Prepare
    const config = await configs.write(
      'mixed.yaml',
      fleetYaml({
        services: [
          { name: 'raw', port: port('raw') },
          { name: 'envelope', port: port('envelope') },
          { name: 'text', port: port('text') },
          { name: 'pgc', port: port('pgc') },
          { name: 'sick', port: port('sick') },
          { name: 'broken', port: port('broken') },
          { name: 'slow', port: port('slow') },
          { name: 'hanging', port: port('hanging') },
          { name: 'refused', port: refusedPort },
        ],
        checks: [
          { name: 'raw-port', kind: 'tcp', host: '127.0.0.1', port: port('raw') },
          { name: 'closed-port', kind: 'tcp', host: '127.0.0.1', port: refusedPort },
          { name: 'cache', kind: 'redis', host: '127.0.0.1', port: port('redis') },
          { name: 'locked-cache', kind: 'redis', host: '127.0.0.1', port: port('redisNoAuth') },
          {
            name: 'stats',
            kind: 'http',
            url: `http://127.0.0.1:${port('text')}/stats`,
            expect: { bodyContains: 'Statistics' },
          },
          {
            name: 'latency-p95',
            kind: 'prometheus',
            url: prometheusUrl(),
            query: 'p95',
            signal: 'latencyP95Ms',
            max: 500,
          },
          { name: 'error-rate', kind: 'prometheus', url: prometheusUrl(), query: 'errors', signal: 'errorRatePercent' },
          { name: 'no-data', kind: 'prometheus', url: prometheusUrl(), query: 'empty', signal: 'cpuPercent' },
          { name: 'bad-query', kind: 'prometheus', url: prometheusUrl(), query: 'rate(', signal: 'memoryPercent' },
        ],
        probeTimeout: `${TIMEOUT_MS}ms`,
        probeLatency: '300ms',
      }),
    );
    // Act
    const run = await runAcgsOps(['health', '--config', config, '--json']);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(2);
    const report = parseReport(run.stdout);
    const t = byName(report);
    const verdicts = Object.fromEntries(report.targets.map((r) => [r.name, [r.status, r.reason]]));
    expect(verdicts).toEqual({
      raw: ['healthy', 'ok'],
      envelope: ['healthy', 'ok'],
      text: ['healthy', 'ok'],
      pgc: ['degraded', 'body-status'],
      sick: ['unhealthy', 'body-status'],
      broken: ['unhealthy', 'http-status'],
      slow: ['degraded', 'latency'],
      hanging: ['unhealthy', 'timeout'],
      refused: ['unhealthy', 'refused'],
      'raw-port': ['healthy', 'ok'],
      'closed-port': ['unhealthy', 'refused'],
      cache: ['healthy', 'ok'],
      'locked-cache': ['unhealthy', 'query'],
      stats: ['unhealthy', 'body-mismatch'],
      'latency-p95': ['healthy', 'ok'],
      'error-rate': ['degraded', 'threshold'],
      'no-data': ['unhealthy', 'query'],
      'bad-query': ['unhealthy', 'query'],
    });
    expect(report).toMatchObject({ overall: 'critical', servicesHealthy: 3, servicesTotal: 9, criticalDown: [] });
    expect(t.broken?.httpStatus).toBe(500);
    expect(t.pgc).toMatchObject({ httpStatus: 200, detail: 'HTTP 200 but body says "degraded"' });
    expect(t.refused).toMatchObject({ httpStatus: null, kind: 'http' });
    expect(t.refused?.detail).toContain(`127.0.0.1:${refusedPort}`);
    expect(t.hanging).toMatchObject({ httpStatus: null, latencyMs: TIMEOUT_MS, detail: 'no answer within 1500 ms' });
    expect(t.slow?.latencyMs).toBeGreaterThanOrEqual(800);
    expect(t['error-rate']).toMatchObject({ value: 7.5, detail: 'errorRatePercent = 7.50, above the threshold 2' });
    expect(t['locked-cache']?.detail).toContain('NOAUTH Authentication required.');
    expect(t['bad-query']?.detail).toContain('bad_data');
    expect(prometheus.queries).toEqual(expect.arrayContaining(['p95', 'errors', 'empty', 'rate(']));
    expect(new Date(report.checkedAt).toISOString()).toBe(report.checkedAt);
    // The hanging server costs one timeout, not more: every probe ran concurrently under the hard deadline.
    expect(report.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_MS + 1_000);
  });

  it('prints an aligned table and a one-line verdict without --json', async () => {
    // Prepare
    const config = await configs.write(
      'table.yaml',
      fleetYaml({
        services: [
          { name: 'raw', port: port('raw') },
          { name: 'broken', port: port('broken') },
          { name: 'refused', port: refusedPort },
        ],
        checks: [{ name: 'database', kind: 'tcp', host: '127.0.0.1', port: refusedPort, critical: true }],
      }),
    );
    // Act
    const run = await runAcgsOps(['health', '--config', config]);
    // Assess
    expect(run.code).toBe(2);
    const lines = run.stdout.trimEnd().split('\n');
    const header = lines.find((l) => l.startsWith('NAME'));
    expect(header).toMatch(/^NAME\s+KIND\s+STATUS\s+REASON\s+HTTP\s+LATENCY\s+DETAIL$/);
    const rows = lines.filter((l) => /^(raw|broken|refused|database) /.test(l));
    expect(rows).toHaveLength(4);
    const statusColumn = header?.indexOf('STATUS');
    for (const row of rows) expect(row.slice(statusColumn).split(/\s+/)[0]).toMatch(/^(healthy|degraded|unhealthy)$/);
    expect(rows.find((r) => r.startsWith('broken'))).toMatch(/unhealthy\s+http-status\s+500\s+\d+ms\s+HTTP 500/);
    expect(lines.at(-1)).toBe('CRITICAL: 1/3 services healthy, 0/1 checks healthy; critical dependency down: database');
  });

  it('exits 0 when every service and check is healthy', async () => {
    // Prepare
    const config = await configs.write(
      'healthy.yaml',
      fleetYaml({
        services: [
          { name: 'raw', port: port('raw') },
          { name: 'envelope', port: port('envelope') },
          { name: 'text', port: port('text') },
        ],
        checks: [
          { name: 'raw-port', kind: 'tcp', host: '127.0.0.1', port: port('raw'), critical: true },
          { name: 'cache', kind: 'redis', host: '127.0.0.1', port: port('redis') },
          {
            name: 'latency-p95',
            kind: 'prometheus',
            url: prometheusUrl(),
            query: 'p95',
            signal: 'latencyP95Ms',
            max: 500,
          },
        ],
      }),
    );
    // Act
    const run = await runAcgsOps(['health', '--config', config, '--json']);
    // Assess
    expect(run.code).toBe(0);
    const report = parseReport(run.stdout);
    expect(report.overall).toBe('healthy');
    expect(report.targets.map((t) => t.status)).toEqual(Array(6).fill('healthy'));
  });

  it('exits 1 when something is degraded but most services are healthy and no critical dependency is down', async () => {
    // Prepare
    const config = await configs.write(
      'degraded.yaml',
      fleetYaml({
        services: [
          { name: 'raw', port: port('raw') },
          { name: 'envelope', port: port('envelope') },
          { name: 'pgc', port: port('pgc') },
        ],
      }),
    );
    // Act
    const run = await runAcgsOps(['health', '--config', config, '--json']);
    // Assess
    expect(run.code).toBe(1);
    expect(parseReport(run.stdout)).toMatchObject({ overall: 'degraded', servicesHealthy: 2, servicesTotal: 3 });
  });
});

describe('acgs-ops usage errors', () => {
  it('exits 64 and lists each problem with its line when the config is invalid', async () => {
    // Prepare
    const valid = fleetYaml({ services: [{ name: 'raw', port: port('raw') }] });
    const config = await configs.write(
      'invalid.yaml',
      valid.replace(`port: ${port('raw')}`, 'port: 70000').replace('probeLatency: 300ms', 'probeLatency: fast'),
    );
    // Act
    const run = await runAcgsOps(['health', '--config', config]);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`invalid config ${config} (2 problems)`);
    expect(run.stderr).toMatch(/invalid\.yaml:\d+ {2}services\.0\.port: /);
    expect(run.stderr).toMatch(/invalid\.yaml:\d+ {2}thresholds\.probeLatency: "fast" is not a duration/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 64 when the config file does not exist', async () => {
    // Act
    const run = await runAcgsOps(['health', '--config', '/nonexistent/fleet.yaml']);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toBe('acgs-ops: cannot read config /nonexistent/fleet.yaml: no such file\n');
  });

  it('exits 64 and names the flag when the flag is unknown', async () => {
    // Act
    const run = await runAcgsOps(['health', '--jsno']);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('unknown option --jsno');
  });

  it('exits 64 and names the command when the subcommand is unknown', async () => {
    // Act
    const run = await runAcgsOps(['helth']);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('unknown command "helth"');
  });

  it('prints usage and exits 0 for --help', async () => {
    // Act
    const main = await runAcgsOps(['--help']);
    const health = await runAcgsOps(['health', '--help']);
    // Assess
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^Usage: acgs-ops <command>/);
    expect(main.stdout).toMatch(/\n {2}health {2}/);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/^Usage: acgs-ops health \[--config FILE\] \[--json\]/);
  });
});

describe('acgs-ops health against a throwaway PostgreSQL cluster', () => {
  // Fails (never skips) with the list of what is missing when PostgreSQL is not installed.
  const postgres = usePostgresCluster();

  it('is healthy with the right password and says query with a clear detail for a wrong password, database or missing env', async () => {
    // Prepare
    const cluster = postgres.cluster;
    const pg = { kind: 'postgres', host: cluster.host, port: cluster.port, user: cluster.user };
    const config = await configs.write(
      'postgres.yaml',
      fleetYaml({
        services: [{ name: 'raw', port: port('raw') }],
        checks: [
          { ...pg, name: 'db', database: cluster.database, passwordEnv: 'PROBE_PG_PASSWORD', critical: true },
          { ...pg, name: 'db-wrong-password', database: cluster.database, passwordEnv: 'PROBE_PG_WRONG' },
          { ...pg, name: 'db-wrong-database', database: 'no_such_db', passwordEnv: 'PROBE_PG_PASSWORD' },
          { ...pg, name: 'db-no-password', database: cluster.database, passwordEnv: 'PROBE_PG_UNSET' },
          {
            ...pg,
            name: 'db-bad-query',
            database: cluster.database,
            passwordEnv: 'PROBE_PG_PASSWORD',
            query: 'SELECT * FROM no_such_table',
          },
        ],
        probeTimeout: '5s',
        probeLatency: '2s',
      }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PROBE_PG_PASSWORD: cluster.password, PROBE_PG_WRONG: 'wrong' };
    delete env.PGPASSWORD;
    delete env.PROBE_PG_UNSET;
    // Act
    const run = await runAcgsOps(['health', '--config', config, '--json'], { env });
    // Assess
    const t = byName(parseReport(run.stdout));
    expect(t.db).toMatchObject({ status: 'healthy', reason: 'ok', kind: 'postgres' });
    expect(t.db?.detail).toContain('answered the query (1 row)');
    expect(t['db-wrong-password']).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(t['db-wrong-password']?.detail).toContain(`authentication as "${cluster.user}" failed`);
    expect(t['db-wrong-database']).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(t['db-wrong-database']?.detail).toContain('has no database "no_such_db"');
    expect(t['db-no-password']).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(t['db-no-password']?.detail).toContain('environment variable PROBE_PG_UNSET is not set');
    expect(t['db-bad-query']).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(t['db-bad-query']?.detail).toContain('SQLSTATE 42P01');
    expect(run.code).toBe(1);
  });
});
