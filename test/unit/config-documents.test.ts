import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formatConfigProblems, parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import {
  backupCommandParameters,
  backupId,
  drillCommandParameters,
  FLEET_DOCUMENT_PARAMETERS,
  fleetCommandParameters,
  rollingUpdateParameters,
  SERVICE_DOCUMENT_PARAMETERS,
  serviceCommandParameters,
} from '../../lambdas/core/document-parameters.ts';
import { parseSsmDocument, type SsmDocument, validateParameters } from '../../lambdas/core/ssm-document.ts';
import { SHIPPED_CONFIG, shippedConfigWith } from '../support/shipped-config.ts';

/*
 * A config that loads can always be run: every config field that reaches an SSM document parameter (see
 * lambdas/core/ssm-document.ts) refuses what the document would refuse at run time, naming the field; and what the
 * config accepts, the documents accept. The values are the kind operators write, good and bad.
 */

const SHIPPED = SHIPPED_CONFIG;
const DOCUMENTS_DIR = new URL('../../ssm-documents/', import.meta.url);

function loadDocument(name: string): SsmDocument {
  const parsed = parseSsmDocument(readFileSync(new URL(`${name}.yaml`, DOCUMENTS_DIR), 'utf8'));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.document;
}

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
