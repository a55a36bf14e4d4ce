import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandTargetFor, hostTagValue } from '../../../lambdas/core/command-target.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import {
  fleetCommandParameters,
  rollingUpdateParameters,
  serviceCommandParameters,
} from '../../../lambdas/core/document-parameters.ts';
import { ControlPlaneError } from '../../../lambdas/core/errors.ts';

const AWS_FLEET = (() => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../../config/acgs-1-aws.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(`config/acgs-1-aws.yaml is invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
})();
const FLEET_TAG = { key: 'acgs:fleet', value: 'acgs-1' };

const restart = (config: FleetConfig, service: string) => ({
  document: 'acgs-restart-service',
  parameters: serviceCommandParameters(config, service),
});

/** The config with some services changed. */
function withServices(edit: Readonly<Record<string, Partial<FleetConfig['services'][number]>>>): FleetConfig {
  return { ...AWS_FLEET, services: AWS_FLEET.services.map((s) => ({ ...s, ...edit[s.name] })) };
}

function refusal(run: () => unknown): ControlPlaneError {
  try {
    run();
  } catch (error) {
    if (error instanceof ControlPlaneError) return error;
    throw error;
  }
  throw new Error('no refusal');
}

describe('commandTargetFor', () => {
  it('sends a restart to the instances with the fleet tag AND the host tag of its service when it names no instance', () => {
    // Act
    const auth = commandTargetFor(AWS_FLEET, restart(AWS_FLEET, 'auth'));
    const gs = commandTargetFor(AWS_FLEET, restart(AWS_FLEET, 'gs'));

    // Assess
    expect(auth).toEqual({ tags: [FLEET_TAG, { key: 'acgs:host', value: 'app-1.acgs.internal' }] });
    expect(gs).toEqual({ tags: [FLEET_TAG, { key: 'acgs:host', value: 'app-2.acgs.internal' }] });
  });

  it('sends every service document to the instance a service names, and nowhere else', () => {
    // Prepare
    const config = withServices({ ac: { instanceId: 'i-0123456789abcdef0' } });

    // Act / Assess
    for (const document of [
      'acgs-restart-service',
      'acgs-start-service',
      'acgs-stop-service',
      'acgs-isolate-service',
      'acgs-release-service',
      'acgs-collect-diagnostics',
    ])
      expect(commandTargetFor(config, { document, parameters: { ServiceName: 'ac' } })).toEqual({
        instanceIds: ['i-0123456789abcdef0'],
      });
  });

  it('uses the configured host tag key when aws.hostTagKey is set', () => {
    // Prepare
    const config = { ...AWS_FLEET, aws: { ...AWS_FLEET.aws, hostTagKey: 'Name' } };

    // Act / Assess
    expect(commandTargetFor(config, restart(config, 'ec'))).toEqual({
      tags: [FLEET_TAG, { key: 'Name', value: 'app-2.acgs.internal' }],
    });
  });

  it('tags an IPv6 host without its brackets, as an EC2 tag value can hold it', () => {
    // Prepare
    const config = withServices({ fv: { host: '[fd00::11]' } });

    // Act / Assess
    expect(commandTargetFor(config, restart(config, 'fv'))).toEqual({
      tags: [FLEET_TAG, { key: 'acgs:host', value: 'fd00::11' }],
    });
    expect(hostTagValue('10.0.1.11')).toBe('10.0.1.11');
  });

  it('sends a fleet document to the one host all its services run on', () => {
    // Prepare
    const services = ['auth', 'ac', 'integrity', 'fv'];

    // Act
    const startAll = commandTargetFor(AWS_FLEET, {
      document: 'acgs-start-all',
      parameters: fleetCommandParameters(AWS_FLEET, 'acgs-start-all', { services }),
    });
    const rolling = commandTargetFor(AWS_FLEET, {
      document: 'acgs-rolling-update',
      parameters: rollingUpdateParameters(AWS_FLEET, { services: ['ec', 'gs'] }),
    });

    // Assess
    expect(startAll).toEqual({ tags: [FLEET_TAG, { key: 'acgs:host', value: 'app-1.acgs.internal' }] });
    expect(rolling).toEqual({ tags: [FLEET_TAG, { key: 'acgs:host', value: 'app-2.acgs.internal' }] });
  });

  it('sends a fleet document to one instance when all its services name that instance', () => {
    // Prepare
    const config = withServices({
      gs: { instanceId: 'i-0aaaaaaaaaaaaaaaa' },
      pgc: { instanceId: 'i-0aaaaaaaaaaaaaaaa' },
    });

    // Act / Assess
    expect(
      commandTargetFor(config, {
        document: 'acgs-stop-all',
        parameters: fleetCommandParameters(config, 'acgs-stop-all', { services: ['gs', 'pgc'] }),
      }),
    ).toEqual({ instanceIds: ['i-0aaaaaaaaaaaaaaaa'] });
  });

  it('refuses a fleet document whose services run on several hosts, naming each host and its services', () => {
    // Act
    const error = refusal(() =>
      commandTargetFor(AWS_FLEET, {
        document: 'acgs-start-all',
        parameters: fleetCommandParameters(AWS_FLEET, 'acgs-start-all'),
      }),
    );

    // Assess
    expect(error.code).toBe('SEVERAL_HOSTS');
    expect(error.message).toBe(
      'acgs-start-all names services on 2 hosts (auth, ac, integrity, fv on host app-1.acgs.internal; gs, pgc, ec ' +
        'on host app-2.acgs.internal): it would run every one of them on each host, so send each host its own services',
    );
  });

  it('refuses a fleet document mixing a named instance with a tagged host', () => {
    // Prepare
    const config = withServices({ auth: { instanceId: 'i-0bbbbbbbbbbbbbbbb' } });

    // Act
    const error = refusal(() =>
      commandTargetFor(config, {
        document: 'acgs-stop-all',
        parameters: fleetCommandParameters(config, 'acgs-stop-all', { services: ['auth', 'ac'] }),
      }),
    );

    // Assess
    expect(error.message).toContain('auth on instance i-0bbbbbbbbbbbbbbbb; ac on host app-1.acgs.internal');
  });

  it('sends the backup documents to backups.instanceId and refuses them without it', () => {
    // Prepare
    const backups = AWS_FLEET.backups;
    if (!backups) throw new Error('config/acgs-1-aws.yaml has backups');
    const named = { ...AWS_FLEET, backups: { ...backups, instanceId: 'i-0cccccccccccccccc' } };

    // Act / Assess
    expect(commandTargetFor(named, { document: 'acgs-backup-database', parameters: {} })).toEqual({
      instanceIds: [named.backups.instanceId],
    });
    expect(refusal(() => commandTargetFor(AWS_FLEET, { document: 'acgs-restore-drill', parameters: {} })).code).toBe(
      'BACKUPS_NOT_CONFIGURED',
    );
  });

  it('refuses an unknown document, an unknown service and a fleet document that names no service', () => {
    expect(refusal(() => commandTargetFor(AWS_FLEET, { document: 'acgs-format-disk', parameters: {} })).code).toBe(
      'UNKNOWN_DOCUMENT',
    );
    expect(
      refusal(() =>
        commandTargetFor(AWS_FLEET, { document: 'acgs-restart-service', parameters: { ServiceName: 'web' } }),
      ).message,
    ).toBe('acgs-restart-service names web, which is not a service of the fleet');
    expect(
      refusal(() => commandTargetFor(AWS_FLEET, { document: 'acgs-start-all', parameters: { Services: '' } })).code,
    ).toBe('NO_SERVICE');
  });
});
