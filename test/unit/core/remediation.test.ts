import { describe, expect, it } from 'vitest';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import type { MaintenanceWindow } from '../../../lambdas/core/escalation.ts';
import type { TargetHealth, TargetState } from '../../../lambdas/core/health-state.ts';
import type { Incident } from '../../../lambdas/core/incident.ts';
import {
  planRemediation,
  type RemediationAttempt,
  type RemediationDecision,
  type RemediationInput,
} from '../../../lambdas/core/remediation.ts';
import { targetsFromConfig } from '../../../lambdas/core/targets.ts';
import {
  acgsConfig,
  fleetOutageReport,
  HOUR,
  MINUTE,
  maintenanceWindow,
  openedIncident,
  serviceDownReport,
  serviceTargetId,
  T0,
  targetState,
} from '../../support/incident-fixtures.ts';

// Shipped config: restartTimeout 5m, breaker 3 restarts per 1h. The use-case settles for 3 probe intervals.
const SETTLE_MS = 3 * MINUTE;
const NOW = T0 + 2 * HOUR;
const targets = targetsFromConfig(acgsConfig);

/** Every service target up, except the services named in `health`. */
function fleetStates(health: Record<string, TargetHealth | Partial<TargetState>> = {}): Map<string, TargetState> {
  return new Map(
    targets.map((t) => {
      const wanted = health[t.name];
      if (wanted === undefined) return [t.id, targetState(t.id, 'up', T0 - HOUR)];
      if (typeof wanted === 'string') return [t.id, targetState(t.id, wanted, T0)];
      return [t.id, targetState(t.id, wanted.health ?? 'up', T0, wanted)];
    }),
  );
}

let attemptSeq = 0;
function attempt(
  service: string,
  requestedAt: number,
  outcome: RemediationAttempt['outcome'],
  finishedAt?: number,
): RemediationAttempt {
  attemptSeq += 1;
  return {
    id: `attempt-${attemptSeq}`,
    service,
    incidentId: 'INC-TEST',
    action: 'restart',
    requestedAt,
    outcome,
    ...(finishedAt === undefined ? {} : { finishedAt }),
  };
}

/** A restart that failed one minute after it was requested. */
function failedRestart(service: string, requestedAt: number): RemediationAttempt {
  return attempt(service, requestedAt, 'failed', requestedAt + MINUTE);
}

const authDown = (): Incident => openedIncident(serviceDownReport('auth'), T0);

function plan(overrides: Partial<RemediationInput> = {}): RemediationDecision[] {
  return planRemediation({
    incident: authDown(),
    targets,
    states: fleetStates({ auth: 'down' }),
    attempts: [],
    isolated: new Set(),
    windows: [] as readonly MaintenanceWindow[],
    config: acgsConfig,
    settleMs: SETTLE_MS,
    now: NOW,
    ...overrides,
  });
}

describe('remediation planning', () => {
  it('plans a restart of the service when a service-down incident has its target down', () => {
    // Prepare / Act
    const decisions = plan();

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('plans nothing when the service-down incident target is no longer down', () => {
    // Prepare
    const states = fleetStates({ auth: 'degraded' });

    // Act
    const decisions = plan({ states });

    // Assess
    expect(decisions).toEqual([]);
  });

  it('skips the service as isolated when an operator isolated it', () => {
    // Prepare / Act
    const decisions = plan({ isolated: new Set(['auth']) });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'isolated' }]);
  });

  it('skips the service for maintenance when an active window covers it', () => {
    // Prepare
    const windows = [maintenanceWindow(['auth'], NOW - HOUR, NOW + HOUR)];

    // Act
    const decisions = plan({ windows });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'maintenance' }]);
  });

  it('restarts when the only window covers another service or has already ended', () => {
    // Prepare
    const windows = [
      maintenanceWindow(['ac'], NOW - HOUR, NOW + HOUR, 'mw-ac'),
      maintenanceWindow(['auth'], NOW - 2 * HOUR, NOW, 'mw-auth-ended'),
    ];

    // Act
    const decisions = plan({ windows });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('skips the service as disabled when remediation is disabled in the config', () => {
    // Prepare
    const disabled: FleetConfig = { ...acgsConfig, remediation: { ...acgsConfig.remediation, enabled: false } };

    // Act
    const decisions = plan({ config: disabled });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'disabled' }]);
  });

  it('skips the service as in progress when a pending restart is younger than restartTimeout', () => {
    // Prepare
    const attempts = [attempt('auth', NOW - 4 * MINUTE, 'pending')];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'in-progress' }]);
  });

  it('restarts again when the pending restart is restartTimeout old or older', () => {
    // Prepare
    const atTimeout = [attempt('auth', NOW - 5 * MINUTE, 'pending')];
    const pastTimeout = [attempt('auth', NOW - 20 * MINUTE, 'pending')];

    // Act
    const atTimeoutDecisions = plan({ attempts: atTimeout });
    const pastTimeoutDecisions = plan({ attempts: pastTimeout });

    // Assess
    expect(atTimeoutDecisions).toEqual([{ service: 'auth', action: 'restart' }]);
    expect(pastTimeoutDecisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('skips the service as settling when the last restart finished less than settleMs ago', () => {
    // Prepare
    const attempts = [attempt('auth', NOW - 4 * MINUTE, 'succeeded', NOW - 2 * MINUTE)];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'settling' }]);
  });

  it('restarts again when the last restart finished settleMs ago and the service is still down', () => {
    // Prepare
    const attempts = [attempt('auth', NOW - 5 * MINUTE, 'failed', NOW - SETTLE_MS)];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('escalates with the restart count when maxRestarts restarts fall inside the breaker window', () => {
    // Prepare
    const attempts = [
      failedRestart('auth', NOW - 50 * MINUTE),
      failedRestart('auth', NOW - 30 * MINUTE),
      failedRestart('auth', NOW - 10 * MINUTE),
    ];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'escalate', why: 'breaker-open', restarts: 3 }]);
  });

  it('counts every restart inside the window when more than maxRestarts happened', () => {
    // Prepare
    const attempts = [
      failedRestart('auth', NOW - 55 * MINUTE),
      failedRestart('auth', NOW - 40 * MINUTE),
      failedRestart('auth', NOW - 25 * MINUTE),
      failedRestart('auth', NOW - 10 * MINUTE),
    ];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'escalate', why: 'breaker-open', restarts: 4 }]);
  });

  it('skips the service as breaker-open when the incident already escalated its breaker', () => {
    // Prepare
    const incident: Incident = { ...authDown(), breakerTripped: ['auth'] };
    const attempts = [
      failedRestart('auth', NOW - 50 * MINUTE),
      failedRestart('auth', NOW - 30 * MINUTE),
      failedRestart('auth', NOW - 10 * MINUTE),
    ];

    // Act
    const decisions = plan({ incident, attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'skip', why: 'breaker-open' }]);
  });

  it('restarts when restarts older than the breaker window would otherwise open the breaker', () => {
    // Prepare: the window is 1h; a restart exactly 1h old no longer counts.
    const attempts = [
      failedRestart('auth', NOW - 90 * MINUTE),
      failedRestart('auth', NOW - HOUR),
      failedRestart('auth', NOW - 10 * MINUTE),
    ];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('ignores restarts of other services when counting for the breaker', () => {
    // Prepare
    const attempts = [
      failedRestart('ac', NOW - 50 * MINUTE),
      failedRestart('ac', NOW - 30 * MINUTE),
      failedRestart('ac', NOW - 10 * MINUTE),
      attempt('ac', NOW - MINUTE, 'pending'),
    ];

    // Act
    const decisions = plan({ attempts });

    // Assess
    expect(decisions).toEqual([{ service: 'auth', action: 'restart' }]);
  });

  it('plans nothing when the incident is a dependency outage, even with its dependents down', () => {
    // Prepare
    const incident = openedIncident({
      dedupKey: 'postgresql:postgres@127.0.0.1',
      kind: 'dependency-down',
      severity: 'P1',
      title: 'postgresql down: 7 dependent services impacted',
      targets: ['postgresql:postgres@127.0.0.1', serviceTargetId('auth'), serviceTargetId('ac')],
      services: ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'],
      host: '127.0.0.1',
      flapping: false,
      detail: 'postgresql: down',
      failingSince: T0,
    });
    const states = fleetStates({ postgresql: 'down', auth: 'down', ac: 'down' });

    // Act
    const decisions = plan({ incident, states });

    // Assess
    expect(decisions).toEqual([]);
  });

  it('restarts the dependents still down once the database of a dependency outage is back', () => {
    // Prepare
    const incident = openedIncident({
      dedupKey: 'postgresql:postgres@127.0.0.1',
      kind: 'dependency-down',
      severity: 'P1',
      title: 'postgresql recovering: 7 dependent services impacted',
      targets: ['postgresql:postgres@127.0.0.1', serviceTargetId('auth'), serviceTargetId('ac')],
      services: ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'],
      host: '127.0.0.1',
      flapping: false,
      detail: 'postgresql: up',
      failingSince: T0,
    });
    const states = fleetStates({ auth: 'down', ac: 'down' });

    // Act
    const decisions = plan({ incident, states });

    // Assess
    expect(decisions).toEqual([
      { service: 'auth', action: 'restart' },
      { service: 'ac', action: 'restart' },
    ]);
  });

  it('plans nothing when the incident is about a flapping service', () => {
    // Prepare
    const flappingKind = openedIncident(
      serviceDownReport('auth', { kind: 'flapping', severity: 'P2', flapping: true }),
      T0,
    );
    const flaggedFlapping = openedIncident(serviceDownReport('auth', { flapping: true }), T0);

    // Act
    const byKind = plan({ incident: flappingKind });
    const byFlag = plan({ incident: flaggedFlapping });

    // Assess
    expect(byKind).toEqual([]);
    expect(byFlag).toEqual([]);
  });

  it('restarts only the down members when a fleet outage also covers degraded and recovered services', () => {
    // Prepare
    const incident = openedIncident(fleetOutageReport(['auth', 'ac', 'integrity', 'fv', 'gs']), T0);
    const states = fleetStates({
      auth: 'down',
      ac: 'degraded',
      integrity: 'down',
      fv: 'up',
      gs: { health: 'down', flapping: true },
      // Down but not a member of this incident.
      ec: 'down',
    });

    // Act
    const decisions = plan({ incident, states });

    // Assess
    expect(decisions).toEqual([
      { service: 'auth', action: 'restart' },
      { service: 'integrity', action: 'restart' },
    ]);
  });

  it('decides per service when the members of a host outage are in different breaker states', () => {
    // Prepare
    const incident: Incident = {
      ...openedIncident(
        fleetOutageReport(['auth', 'ac', 'fv'], {
          kind: 'host-outage',
          severity: 'P2',
          dedupKey: 'host-outage@127.0.0.1',
        }),
        T0,
      ),
      breakerTripped: ['auth'],
    };
    const states = fleetStates({ auth: 'down', ac: 'down', fv: 'down' });
    const attempts = [
      ...[50, 30, 10].map((ago) => failedRestart('auth', NOW - ago * MINUTE)),
      ...[50, 30, 10].map((ago) => failedRestart('ac', NOW - ago * MINUTE)),
    ];

    // Act
    const decisions = plan({ incident, states, attempts });

    // Assess
    expect(decisions).toEqual([
      { service: 'auth', action: 'skip', why: 'breaker-open' },
      { service: 'ac', action: 'escalate', why: 'breaker-open', restarts: 3 },
      { service: 'fv', action: 'restart' },
    ]);
  });

  it('plans nothing when the incident is resolved', () => {
    // Prepare
    const incident: Incident = {
      ...authDown(),
      status: 'resolved',
      resolvedAt: NOW - MINUTE,
      resolvedBy: 'alice',
      resolution: 'fixed by hand',
    };

    // Act
    const decisions = plan({ incident });

    // Assess
    expect(decisions).toEqual([]);
  });
});
