import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import {
  fleetCommandParameters,
  rollingUpdateParameters,
  SERVICE_DOCUMENT_PARAMETERS,
  serviceCommandParameters,
} from '../../../lambdas/core/document-parameters.ts';
import { NotFoundError } from '../../../lambdas/core/errors.ts';
import { validateParameters } from '../../../lambdas/core/ssm-document.ts';
import { loadDocument as load, validParameters } from '../../support/unit-ssm-documents.ts';

describe('serviceCommandParameters', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  const config: FleetConfig = parsed.config;

  it('gives the restart document everything it needs for a service, paths under fleet.root', () => {
    // Act
    const params = serviceCommandParameters(config, 'fv');
    // Assess
    expect(params).toEqual({
      ServiceName: 'fv',
      Port: '8003',
      Directory: '/home/dislove/ACGS-1/services/core/formal-verification/fv_service',
      StartCommand: 'uvicorn main:app --host 0.0.0.0 --port 8003',
      LogFile: '/home/dislove/ACGS-1/logs/fv_service.log',
      HealthUrl: 'http://127.0.0.1:8003/health',
      // remediation.restartTimeout 5m, less the 10 s grace and a 10 s margin
      TimeoutSeconds: '280',
      GraceSeconds: '10',
      StateDirectory: '/var/lib/acgs-ops',
      Force: 'false',
    });
  });

  it.each(Object.keys(SERVICE_DOCUMENT_PARAMETERS) as (keyof typeof SERVICE_DOCUMENT_PARAMETERS)[])(
    'produces parameters %s accepts for every ACGS-1 service',
    (document) => {
      // Prepare
      const doc = load(document);
      for (const service of config.services) {
        // Act
        const params = serviceCommandParameters(config, service.name, { document });
        // Assess
        expect(validateParameters(doc, params), `${document} for ${service.name}`).toEqual([]);
        expect(Object.keys(params).sort()).toEqual(Object.keys(doc.parameters).sort());
      }
    },
  );

  it('fills the diagnostics dependencies from the postgres and redis checks', () => {
    // Act
    const params = serviceCommandParameters(config, 'auth', { document: 'acgs-collect-diagnostics', logLines: 50 });
    // Assess
    expect(params).toMatchObject({ DatabasePort: '5432', RedisPort: '6379', LogLines: '50' });
  });

  it('passes the options through', () => {
    // Act
    const params = serviceCommandParameters(config, 'auth', {
      document: 'acgs-start-service',
      timeoutSeconds: 30,
      stateDirectory: '/srv/state',
      force: true,
    });
    // Assess
    expect(params).toMatchObject({ TimeoutSeconds: '30', StateDirectory: '/srv/state', Force: 'true' });
  });

  it('joins relative paths to fleet.root and keeps absolute ones, without trailing slashes', () => {
    // Prepare
    const [auth] = config.services;
    if (!auth) throw new Error('config has no services');
    const edited: FleetConfig = {
      ...config,
      fleet: { ...config.fleet, root: '/srv/acgs/' },
      services: [{ ...auth, directory: './services/auth/', logFile: '/var/log/acgs/auth.log' }],
    };
    // Act
    const params = serviceCommandParameters(edited, 'auth');
    // Assess
    expect(params).toMatchObject({ Directory: '/srv/acgs/services/auth', LogFile: '/var/log/acgs/auth.log' });
  });

  it('leaves a start command the documents cannot run safely for validation to reject, naming it', () => {
    // Prepare
    const [auth] = config.services;
    if (!auth) throw new Error('config has no services');
    const edited: FleetConfig = { ...config, services: [{ ...auth, start: 'uvicorn app:app --log-config "a b.ini"' }] };
    // Act
    const errors = validateParameters(load('acgs-restart-service'), serviceCommandParameters(edited, 'auth'));
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual(['StartCommand']);
  });

  it('throws NotFoundError for a service the fleet does not have', () => {
    // Act & Assess
    expect(() => serviceCommandParameters(config, 'nope')).toThrow(NotFoundError);
  });

  it.each(['acgs-start-all', 'acgs-stop-all'] as const)(
    'lists all seven services in a value %s accepts',
    (document) => {
      // Act
      const params = fleetCommandParameters(config, document);
      // Assess
      expect(validateParameters(load(document), params)).toEqual([]);
      expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual([
        'auth',
        'ac',
        'integrity',
        'fv',
        'gs',
        'pgc',
        'ec',
      ]);
    },
  );

  it('encodes each service as name port directory logFile healthUrl startCommand', () => {
    // Act
    const params = fleetCommandParameters(config, 'acgs-start-all', { services: ['ec'] });
    // Assess
    expect(params).toEqual({
      Services:
        'ec 8006 /home/dislove/ACGS-1/services/core/evolutionary-computation /home/dislove/ACGS-1/logs/ec_service.log ' +
        'http://127.0.0.1:8006/health uvicorn app.main:app --host 0.0.0.0 --port 8006',
      TimeoutSeconds: '280',
      StateDirectory: '/var/lib/acgs-ops',
    });
  });
});

describe('acgs-rolling-update parameters', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  const config: FleetConfig = parsed.config;

  it('lists every service in config order, in a value the document accepts, restart-only on main by default', () => {
    // Act
    const params = rollingUpdateParameters(config);
    // Assess
    expect(validateParameters(load('acgs-rolling-update'), params)).toEqual([]);
    expect(Object.keys(params).sort()).toEqual(Object.keys(load('acgs-rolling-update').parameters).sort());
    expect(params).toMatchObject({
      Update: 'restart-only',
      Branch: 'main',
      TimeoutSeconds: '280',
      GraceSeconds: '10',
      StateDirectory: '/var/lib/acgs-ops',
    });
    expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual([
      'auth',
      'ac',
      'integrity',
      'fv',
      'gs',
      'pgc',
      'ec',
    ]);
  });

  it('passes the services, in the given order, and the options through', () => {
    // Act
    const params = rollingUpdateParameters(config, {
      services: ['pgc', 'auth'],
      update: 'git-pull',
      branch: 'release/2026.1',
      graceSeconds: 3,
      timeoutSeconds: 45,
      stateDirectory: '/srv/state',
    });
    // Assess
    expect(validateParameters(load('acgs-rolling-update'), params)).toEqual([]);
    expect(params).toMatchObject({
      Update: 'git-pull',
      Branch: 'release/2026.1',
      GraceSeconds: '3',
      TimeoutSeconds: '45',
      StateDirectory: '/srv/state',
    });
    expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual(['pgc', 'auth']);
  });

  it.each([
    ['Update', 'git-pull --rebase'],
    ['Update', 'fetch'],
    ['Branch', '-upload-pack=touch'],
    ['Branch', 'main..evil'],
    ['Branch', 'main/'],
    ['Branch', '/main'],
    ['Branch', 'feature//x'],
    ['Branch', '.hidden'],
    ['Branch', 'main.'],
    ['Branch', 'main@{1}'],
    ['Branch', 'main:refs/heads/x'],
    ['Branch', 'main ~1'],
    ['GraceSeconds', '1000'],
    ['TimeoutSeconds', '0'],
  ])('rejects %s %j', (parameter, value) => {
    // Prepare
    const doc = load('acgs-rolling-update');
    const params = { ...validParameters('acgs-rolling-update', doc), [parameter]: value };
    // Act
    const errors = validateParameters(doc, params);
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual([parameter]);
  });

  it('throws NotFoundError for a service the fleet does not have', () => {
    // Act & Assess
    expect(() => rollingUpdateParameters(config, { services: ['nope'] })).toThrow(NotFoundError);
  });
});
