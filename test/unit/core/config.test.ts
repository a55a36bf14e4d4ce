import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formatConfigProblems, parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig, FleetConfigInput } from '../../../lambdas/core/config-schema.ts';
import {
  backupCommandParameters,
  backupId,
  drillCommandParameters,
  FLEET_DOCUMENT_PARAMETERS,
  fleetCommandParameters,
  rollingUpdateParameters,
  SERVICE_DOCUMENT_PARAMETERS,
  serviceCommandParameters,
} from '../../../lambdas/core/document-parameters.ts';
import { validateParameters } from '../../../lambdas/core/ssm-document.ts';
import { targetsFromConfig } from '../../../lambdas/core/targets.ts';
import { SHIPPED_CONFIG, shippedConfigWith } from '../../support/shipped-config.ts';
import { loadDocument } from '../../support/unit-ssm-documents.ts';

const SHIPPED = SHIPPED_CONFIG;
const THREE = readFileSync(new URL('../../fixtures/three-service-fleet.yaml', import.meta.url), 'utf8');

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index === -1) throw new Error(`fixture text has no line containing "${needle}"`);
  return index + 1;
}

/** The three-service fleet as a plain object, changed by `edit`, back to YAML. */
function threeServiceYaml(edit: (config: FleetConfigInput) => void): string {
  const config = parse(THREE) as FleetConfigInput;
  edit(config);
  return stringify(config);
}

function problemsOf(text: string) {
  const parsed = parseFleetConfig(text);
  if (parsed.ok) throw new Error('expected the config to be rejected, but it parsed');
  return parsed.problems;
}

describe('parseFleetConfig', () => {
  it('accepts the shipped ACGS-1 config', () => {
    // Act
    const parsed = parseFleetConfig(SHIPPED);
    // Assess
    if (!parsed.ok) throw new Error(formatConfigProblems('config/acgs-1.yaml', parsed.problems));
    expect(parsed.config.fleet.name).toBe('acgs-1');
    expect(parsed.config.services.map((s) => s.port)).toEqual([8000, 8001, 8002, 8003, 8004, 8005, 8006]);
    expect(parsed.config.thresholds).toMatchObject({ probeTimeout: 5_000, probeLatency: 500, probeConcurrency: 64 });
  });

  it('derives one target per service and check from the shipped config', () => {
    // Prepare
    const parsed = parseFleetConfig(SHIPPED);
    if (!parsed.ok) throw new Error('shipped config is invalid');
    // Act
    const targets = targetsFromConfig(parsed.config);
    // Assess
    expect(targets).toHaveLength(parsed.config.services.length + parsed.config.checks.length);
    expect(targets.find((t) => t.name === 'pgc')).toMatchObject({
      kind: 'http',
      url: 'http://127.0.0.1:8005/health',
      role: 'service',
    });
    expect(targets.find((t) => t.name === 'postgresql')).toMatchObject({ kind: 'postgres', critical: true });
  });

  it('reports one problem per error with its field path and line when a file has several errors', () => {
    // Prepare
    const broken = THREE.replace('port: 9100', 'port: 70000')
      .replace('probeTimeout: 2s', 'probeTimeout: 2 seconds')
      .replace('displayName: Cart', 'displayName: ""');
    // Act
    const problems = problemsOf(broken);
    // Assess
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'services.0.port', line: lineOf(broken, 'port: 70000') }),
        expect.objectContaining({
          path: 'thresholds.probeTimeout',
          line: lineOf(broken, 'probeTimeout: 2 seconds'),
          message: expect.stringContaining('is not a duration'),
        }),
        expect.objectContaining({ path: 'services.1.displayName', line: lineOf(broken, 'displayName: ""') }),
      ]),
    );
  });

  it('reports a missing required field at its parent object', () => {
    // Prepare
    const broken = THREE.replace('    logFile: logs/cart.log\n', '');
    // Act
    const problems = problemsOf(broken);
    // Assess
    expect(problems).toEqual([
      { path: 'services.1.logFile', line: lineOf(broken, 'name: cart'), message: 'is required' },
    ]);
  });

  it('rejects unknown keys, one problem per key, at the line of the key', () => {
    // Prepare
    const broken = THREE.replace('  probeConcurrency: 8\n', '  probeConcurrency: 8\n  probeTimout: 3s\n').replace(
      '    healthPath: /healthz\n',
      '    healthPath: /healthz\n    helthPath: /health\n',
    );
    // Act
    const problems = problemsOf(broken);
    // Assess
    expect(problems).toEqual([
      {
        path: 'services.0.helthPath',
        line: lineOf(broken, 'helthPath'),
        message: 'unknown key (check the spelling; unknown keys are rejected)',
      },
      {
        path: 'thresholds.probeTimout',
        line: lineOf(broken, 'probeTimout'),
        message: 'unknown key (check the spelling; unknown keys are rejected)',
      },
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    // Prepare
    const broken = THREE.replace('  probeConcurrency: 8', '  probeConcurrency: [8');
    // Act
    const problems = problemsOf(broken);
    // Assess
    expect(problems[0]).toMatchObject({ path: '(yaml)' });
    expect(problems[0]?.line).toBeGreaterThanOrEqual(lineOf(broken, 'probeConcurrency: [8'));
  });

  it('reports an alias bomb as one problem instead of expanding it', () => {
    // Prepare: nine aliases per level, seven levels: 9^7 strings if expanded.
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const bomb = levels
      .map((name, i) => {
        const previous = levels[i - 1];
        const items = previous === undefined ? Array(9).fill('"lol"') : Array(9).fill(`*${previous}`);
        return `${name}: &${name} [${items.join(',')}]`;
      })
      .join('\n');
    // Act
    const problems = problemsOf(bomb);
    // Assess
    expect(problems).toEqual([{ path: '(yaml)', message: expect.stringMatching(/^too many YAML aliases /) }]);
  });

  it('accepts a config that shares values through aliases', () => {
    // Prepare
    const shared = THREE.replace('  cpuPercent: 90', '  cpuPercent: &ninety 90').replace(
      '  memoryPercent: 90',
      '  memoryPercent: *ninety',
    );
    // Act
    const parsed = parseFleetConfig(shared);
    // Assess
    expect(parsed.ok && parsed.config.thresholds.memoryPercent).toBe(90);
  });

  it('formats problems as file:line  path: message', () => {
    // Prepare
    const broken = THREE.replace('port: 9100', 'port: 70000');
    // Act
    const text = formatConfigProblems('shop.yaml', problemsOf(broken));
    // Assess
    expect(text).toBe(
      `invalid config shop.yaml (1 problem):\n  shop.yaml:${lineOf(broken, 'port: 70000')}  services.0.port: ` +
        'Too big: expected number to be <=65535',
    );
  });
});

describe('another fleet', () => {
  it('follows the file when a three-service fleet runs on other ports', () => {
    // Act
    const parsed = parseFleetConfig(THREE);
    // Assess
    if (!parsed.ok) throw new Error(formatConfigProblems('three-service-fleet.yaml', parsed.problems));
    const targets = targetsFromConfig(parsed.config);
    expect(targets.map((t) => [t.id, t.kind, t.role])).toEqual([
      ['catalog:health@10.0.0.5', 'http', 'service'],
      ['cart:health@10.0.0.5', 'http', 'service'],
      ['search:health@search.internal', 'http', 'service'],
      ['db:postgres@10.0.0.9', 'postgres', 'dependency'],
      ['cache:redis@10.0.0.9', 'redis', 'dependency'],
    ]);
    expect(targets.filter((t) => t.kind === 'http').map((t) => (t.kind === 'http' ? t.url : ''))).toEqual([
      'http://10.0.0.5:9100/healthz',
      'https://10.0.0.5:9101/health',
      'http://search.internal:9200/health',
    ]);
    expect(targets[3]).toMatchObject({ port: 6543, database: 'shop', passwordEnv: 'SHOP_DB_PASSWORD' });
    expect(targets[4]).toMatchObject({ port: 6380, critical: false });
    expect(parsed.config.thresholds).toMatchObject({ probeTimeout: 2_000, probeLatency: 250, probeConcurrency: 8 });
  });
});

describe('cross-field checks', () => {
  it('reports a name used twice, across services and checks too', () => {
    // Prepare
    const twoServices = threeServiceYaml((c) => {
      const search = c.services[2];
      if (search) search.name = 'catalog';
    });
    const serviceAndCheck = threeServiceYaml((c) => {
      const search = c.services[2];
      if (search) search.name = 'cache';
    });
    // Act
    const serviceProblems = problemsOf(twoServices);
    const checkProblems = problemsOf(serviceAndCheck);
    // Assess
    expect(serviceProblems).toEqual([
      expect.objectContaining({
        path: 'services.2.name',
        message: 'name "catalog" is already used by services.0.name',
      }),
    ]);
    expect(checkProblems).toEqual([
      expect.objectContaining({ path: 'checks.1.name', message: 'name "cache" is already used by services.2.name' }),
    ]);
  });

  it('reports two services on the same host and port', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      const cart = c.services[1];
      if (cart) cart.port = 9100;
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({ path: 'services.1.port', message: '10.0.0.5:9100 is already used by services.0' }),
    ]);
  });

  it.each([
    ['127.0.0.1', 'localhost'],
    ['localhost', '::1'],
    ['127.0.0.1', '[::1]'],
    ['0.0.0.0', '127.0.0.1'],
    ['LOCALHOST', '127.0.1.1'],
  ])('reports two services on the same port of this host, named %s and %s', (first, second) => {
    // Prepare
    const text = threeServiceYaml((c) => {
      const [catalog, cart] = c.services;
      if (catalog) catalog.host = first;
      if (cart) Object.assign(cart, { host: second, port: 9100 });
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'services.1.port',
        message: `${second}:9100 is already used by services.0 (${first}:9100: both name this host)`,
      }),
    ]);
  });

  it('accepts the same port on two different hosts, and on the loopback host and another', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      const [catalog, cart] = c.services;
      if (catalog) catalog.host = '127.0.0.1';
      if (cart) Object.assign(cart, { host: '10.0.0.6', port: 9100 });
    });
    // Act
    const parsed = parseFleetConfig(text);
    // Assess
    if (!parsed.ok) throw new Error(formatConfigProblems('test', parsed.problems));
  });

  it('reports a dependsOn that names no check', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      const cart = c.services[1];
      if (cart) cart.dependsOn = ['db', 'queue'];
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'services.1.dependsOn.1',
        message: '"queue" is not the name of a check in checks',
      }),
    ]);
  });

  it('reports a flapping exitRatio that is not below enterRatio', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      c.thresholds.flapping.exitRatio = 0.6;
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'thresholds.flapping.exitRatio',
        message: 'must be lower than enterRatio (hysteresis)',
      }),
    ]);
  });

  it('reports a firstPage throughLevel beyond the last level', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      c.escalation.firstPage.P1.throughLevel = 3;
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({ path: 'escalation.firstPage.P1.throughLevel', message: 'there are only 2 levels' }),
    ]);
  });

  it('reports every cross-field problem of one file together', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      const [catalog, cart] = c.services;
      if (catalog) catalog.dependsOn = ['nope'];
      if (cart) cart.port = 9100;
      c.thresholds.flapping.exitRatio = 0.9;
      c.escalation.firstPage.P2.throughLevel = 5;
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems.map((p) => p.path).sort()).toEqual([
      'escalation.firstPage.P2.throughLevel',
      'services.0.dependsOn.0',
      'services.1.port',
      'thresholds.flapping.exitRatio',
    ]);
    expect(problems.every((p) => p.line !== undefined)).toBe(true);
  });
});

describe('duration bounds', () => {
  it.each([
    ['severities.P1.ackTimeout', '0ms', 'must be between 1s and 7d, got "0ms"'],
    ['severities.P2.responseTime', '30d', 'must be between 1s and 7d, got "30d"'],
    ['remediation.breaker.window', '99999999999999999999d', 'must be between 1s and 7d, got "99999999999999999999d"'],
    ['remediation.restartTimeout', '2h', 'must be between 1s and 1h, got "2h"'],
    ['thresholds.probeTimeout', '10m', 'must be between 100ms and 2m, got "10m"'],
    ['thresholds.probeLatency', '0ms', 'must be between 1ms and 1m, got "0ms"'],
    ['thresholds.flapping.window', '2d', 'must be between 1s and 1d, got "2d"'],
    ['schedules.probe.every', '1d', 'must be between 1s and 1h, got "1d"'],
    ['escalation.repeatEvery', '2d', 'must be between 5s and 1d, got "2d"'],
    ['escalation.levels.0.responseTime.P1', '8d', 'must be between 1s and 7d, got "8d"'],
    ['backups.maxAge', '90d', 'must be between 1m and 31d, got "90d"'],
    ['backups.drill.maxAge', '400d', 'must be between 1m and 366d, got "400d"'],
    ['recovery.serviceRestart', '3h', 'must be between 1s and 1h, got "3h"'],
    ['recovery.rpo', '1e9d', '"1e9d" is not a duration: write one between 1s and 30d, such as 30s, 5m, 1h or 1d'],
  ])('refuses %s: %s, naming the field and the range', (path, value, message) => {
    // Act
    const problems = problemsOf(shippedConfigWith(path, value));
    // Assess
    expect(problems).toEqual([expect.objectContaining({ path, message })]);
  });

  it.each([
    ['severities.P1.ackTimeout', '1s'],
    ['remediation.breaker.window', '7d'],
    ['schedules.backupMonitor', { every: '31d' }],
    ['backups.drill.maxAge', '366d'],
  ])('accepts %s at the edge of its range (%j)', (path, value) => {
    // Act
    const parsed = parseFleetConfig(shippedConfigWith(path, value));
    // Assess
    if (!parsed.ok) throw new Error(formatConfigProblems('test', parsed.problems));
  });

  it('refuses a webhook timeout beyond a minute', () => {
    // Prepare
    const text = threeServiceYaml((c) => {
      c.notifications = {
        channels: [{ name: 'hook', kind: 'webhook', url: 'https://example.com/hook', timeout: '1h' }],
      };
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'notifications.channels.0.timeout',
        message: 'must be between 100ms and 1m, got "1h"',
      }),
    ]);
  });
});

/*
 * A config that loads can always be run: every config field that reaches an SSM document parameter (see
 * lambdas/core/ssm-document.ts) refuses what the document would refuse at run time, naming the field; and what the
 * config accepts, the documents accept. The values are the kind operators write, good and bad.
 */

const AT = new Date(Date.UTC(2026, 11, 1, 2, 0));

/** Every document the control plane runs, with the parameters it derives from `config`, as the CLI derives them. */
function everyRun(config: FleetConfig): [string, Record<string, string>][] {
  const stateDirectory = config.fleet.hostStateDirectory;
  const runs: [string, Record<string, string>][] = [];
  for (const document of Object.keys(SERVICE_DOCUMENT_PARAMETERS) as (keyof typeof SERVICE_DOCUMENT_PARAMETERS)[])
    for (const service of config.services)
      runs.push([document, serviceCommandParameters(config, service.name, { document, stateDirectory })]);
  for (const document of Object.keys(FLEET_DOCUMENT_PARAMETERS) as (keyof typeof FLEET_DOCUMENT_PARAMETERS)[])
    runs.push([document, fleetCommandParameters(config, document, { stateDirectory })]);
  runs.push(['acgs-rolling-update', rollingUpdateParameters(config, { stateDirectory, update: 'git-pull' })]);
  const database = config.checks.find((c) => c.name === config.backups?.database);
  if (database?.kind === 'postgres') {
    const manifest = {
      dumpKey: `${backupId(database.database, AT)}.dump`,
      sha256: 'c'.repeat(64),
      tableDataEntries: 42,
    };
    for (const bucket of [undefined, 'acgs-backups']) {
      const where = bucket === undefined ? {} : { bucket };
      runs.push(['acgs-backup-database', backupCommandParameters(config, { at: AT, ...where })]);
      runs.push(['acgs-restore-drill', drillCommandParameters(config, manifest, where)]);
    }
  }
  return runs;
}

/** Config values the documents cannot run: each must be refused by the config, at its own field. */
const REFUSED: [path: string, value: unknown][] = [
  ['fleet.root', '/home/ops/ACGS 1'],
  ['fleet.root', 'home/ops/acgs'],
  ['fleet.root', '/srv/../etc'],
  ['fleet.hostStateDirectory', '/var/lib/acgs-ops/'],
  ['fleet.hostStateDirectory', '/var//lib/acgs-ops'],
  ['fleet.hostStateDirectory', '/'],
  ['fleet.hostStateDirectory', '/var/lib/.../acgs'],
  ['services.0.healthPath', '/health?verbose=1'],
  ['services.0.healthPath', '/../admin'],
  ['services.0.healthPath', '//health'],
  ['services.0.host', '-oProxyCommand=x'],
  ['services.0.host', '[::1'],
  ['services.0.host', 'auth_service.internal'],
  ['services.0.directory', 'services/../../etc'],
  ['services.0.directory', 'services/auth service'],
  ['services.0.logFile', 'logs/auth service.log'],
  ['services.0.logFile', "logs/auth'.log"],
  ['services.0.start', 'uvicorn app.main:app; rm -rf /'],
  ['services.0.start', 'uvicorn app:app --log-config "a b.ini"'],
  ['services.0.start', './run --home $HOME'],
  ['services.0.start', './run > out.log 2>&1'],
  ['services.0.start', './run --hosts a,b'],
  ['services.0.start', './run  --port 8000'],
  ['services.0.start', ' ./run'],
  ['checks.0.host', '-db.internal'],
  ['checks.1.host', 'redis;reboot'],
  ['backups.pgpassFile', '/etc/acgs-ops/../shadow'],
  ['backups.pgpassFile', '/etc/acgs ops/pgpass'],
  ['backups.pgpassFile', '/etc/acgs-ops/pgpass/'],
  ['backups.localDirectory', '/'],
  ['backups.localDirectory', '/var/backups/./acgs'],
  ['backups.s3Prefix', 'backups//acgs/'],
  ['backups.s3Prefix', '.hidden/'],
  ['backups.s3Prefix', '../backups/'],
  ['backups.minSizeBytes', 10_000_000_000_000],
  ['backups.parallelJobs', 0],
  ['backups.parallelJobs', 33],
  ['backups.parallelJobs', 1.5],
  ['backups.restoreJobs', 0],
  ['backups.restoreJobs', 33],
];

/** Config values operators write that the documents can run (some of them once were refused at run time). */
const ACCEPTED: [path: string, value: unknown][] = [
  ['fleet.root', '/home/ops/ACGS-1'],
  ['fleet.root', '/srv/acgs_1.2'],
  ['fleet.hostStateDirectory', '/run/acgs/.state'],
  ['services.0.healthPath', '/.well-known/health'],
  ['services.0.healthPath', '/api/v1/health/'],
  ['services.0.healthPath', '/'],
  ['services.0.healthPath', '/~status'],
  ['services.0.host', 'localhost'],
  ['services.0.host', 'auth.internal.example.com'],
  ['services.0.host', '::1'],
  ['services.0.host', '[::1]'],
  ['services.0.host', 'fe80::1'],
  ['services.0.directory', '/opt/auth'],
  ['services.0.directory', 'services/.venv/auth'],
  ['services.0.logFile', '/var/log/acgs/auth.log'],
  ['services.0.start', 'gunicorn -w 4 -b 127.0.0.1:8000 app:app'],
  ['services.0.start', '/usr/bin/python3 -m http.server 8000'],
  ['services.0.start', 'node --max-old-space-size=512 server.js @prod'],
  ['services.0.start', './run --cpu 50% --tag v1.2+build'],
  ['checks.0.host', '::1'],
  ['checks.0.host', '[::1]'],
  ['checks.0.host', 'db.internal'],
  ['checks.0.database', '_acgs'],
  ['checks.0.user', '_backup'],
  ['checks.1.host', '::1'],
  ['backups.pgpassFile', '/home/ops/.pgpass'],
  ['backups.localDirectory', '/var/backups/acgs-pgp'],
  ['backups.s3Prefix', 'b/'],
  ['backups.minSizeBytes', 999_999_999_999],
  ['backups.parallelJobs', 32],
  ['backups.restoreJobs', 32],
  ['remediation.restartTimeout', '1h'],
  ['recovery.serviceRestart', '1h'],
];

describe('config fields that reach an SSM document', () => {
  it.each(REFUSED)('refuses %s: %j, naming the field', (path, value) => {
    // Act
    const parsed = parseFleetConfig(shippedConfigWith(path, value));
    // Assess
    expect(parsed.ok, `${path}: ${JSON.stringify(value)} was accepted`).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.path)).toContain(path);
  });

  it.each(ACCEPTED)('accepts %s: %j, and every document accepts what it derives from it', (path, value) => {
    // Prepare
    const parsed = parseFleetConfig(shippedConfigWith(path, value));
    if (!parsed.ok) throw new Error(formatConfigProblems(path, parsed.problems));
    // Act
    const errors = everyRun(parsed.config).flatMap(([document, params]) =>
      validateParameters(loadDocument(document), params).map((e) => `${document}: ${e.parameter} ${e.message}`),
    );
    // Assess
    expect(errors).toEqual([]);
  });
});

describe('the services of a fleet together', () => {
  /** The shipped config with `count` services like auth, each with a start command of about `startLength` characters. */
  function fleetOf(count: number, startLength: number): string {
    const config = parse(SHIPPED) as { services: Record<string, unknown>[] };
    const [auth] = config.services;
    config.services = Array.from({ length: count }, (_, i) => ({
      ...auth,
      name: `svc-${i}`,
      port: 9000 + i,
      dependsOn: [],
      start: `./svc-${i} --port ${9000 + i} --opts ${'x'.repeat(startLength)}`,
    }));
    return stringify(config);
  }

  it('refuses services that do not fit the Services list of the *-all documents, naming services', () => {
    // Act
    const parsed = parseFleetConfig(fleetOf(30, 300));
    // Assess
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.problems).toEqual([
        expect.objectContaining({ path: 'services', message: expect.stringMatching(/more than the 8192 characters/) }),
      ]);
  });

  it('accepts many services that fit, and every document accepts them', () => {
    // Prepare
    const parsed = parseFleetConfig(fleetOf(30, 40));
    if (!parsed.ok) throw new Error(formatConfigProblems('fleet', parsed.problems));
    // Act
    const errors = everyRun(parsed.config).flatMap(([document, params]) =>
      validateParameters(loadDocument(document), params).map((e) => `${document}: ${e.parameter} ${e.message}`),
    );
    // Assess
    expect(errors).toEqual([]);
  });
});
