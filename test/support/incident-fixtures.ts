import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { freezePolicy, type MaintenanceWindow } from '../../lambdas/core/escalation.ts';
import { initialTargetState, type TargetHealth, type TargetState } from '../../lambdas/core/health-state.ts';
import type { EscalationPolicy, Incident } from '../../lambdas/core/incident.ts';
import { openIncident, type ProblemReport } from '../../lambdas/core/incident-planner.ts';
import { loadShippedConfig, MINUTE, T0 } from './harness.ts';

/**
 * Builders for pure tests of the incident, escalation and remediation rules. The shipped ACGS-1 config is read
 * once per test file; every time is an explicit epoch number relative to `T0`.
 */
export { MINUTE, T0 };
export const HOUR = 60 * MINUTE;

export const acgsConfig: FleetConfig = loadShippedConfig();
export const acgsPolicy: EscalationPolicy = freezePolicy(acgsConfig);

/** Contact names of the shipped escalation matrix, as they appear in pages and timeline entries. */
export const CONTACT = {
  opsPrimary: 'Primary on-call (ACGS-1 Operations Team)',
  opsSecondary: 'Secondary on-call (Infrastructure Team)',
  engineering: 'Engineering Team',
  architecture: 'System Architecture Team',
  executive: 'Executive Team',
} as const;

/** The health-check target id of a service of the shipped config (all of them live on 127.0.0.1). */
export function serviceTargetId(service: string): string {
  return `${service}:health@127.0.0.1`;
}

/** A service-down report for one service, as the planner writes it; override any field. */
export function serviceDownReport(service: string, overrides: Partial<ProblemReport> = {}): ProblemReport {
  return {
    dedupKey: serviceTargetId(service),
    kind: 'service-down',
    severity: 'P2',
    title: `${service} is down`,
    targets: [serviceTargetId(service)],
    services: [service],
    host: '127.0.0.1',
    flapping: false,
    detail: `${service}: connection refused`,
    failingSince: T0,
    ...overrides,
  };
}

/** A fleet-outage report grouping the given services. */
export function fleetOutageReport(services: readonly string[], overrides: Partial<ProblemReport> = {}): ProblemReport {
  return {
    dedupKey: 'fleet-outage@acgs-1',
    kind: 'fleet-outage',
    severity: 'P1',
    title: `Complete outage of acgs-1: ${services.length} of 7 services down`,
    targets: services.map(serviceTargetId),
    services,
    flapping: false,
    detail: services.map((s) => `${s}: down`).join('; '),
    failingSince: T0,
    ...overrides,
  };
}

/** The incident `openIncident` creates from a report at `now`, with the given (default: shipped) policy frozen on. */
export function openedIncident(
  report: ProblemReport,
  now: number = T0,
  policy: EscalationPolicy = acgsPolicy,
): Incident {
  return openIncident(report, policy, now).incident;
}

/** A stored target state with the given health; failing ones carry `failingSince` and a problem detail. */
export function targetState(
  targetId: string,
  health: TargetHealth,
  since: number = T0,
  extra: Partial<TargetState> = {},
): TargetState {
  const failing = health === 'down' || health === 'degraded';
  return {
    ...initialTargetState(targetId, since),
    health,
    ...(failing
      ? {
          failingSince: since,
          lastStatus: health === 'down' ? 'unhealthy' : 'degraded',
          lastProblem: `${targetId} ${health}`,
        }
      : { lastStatus: 'healthy' }),
    ...extra,
  };
}

export function maintenanceWindow(
  subjects: readonly string[],
  startsAt: number,
  endsAt: number,
  id = 'mw-1',
): MaintenanceWindow {
  return { id, subjects, startsAt, endsAt, reason: 'planned upgrade', createdBy: 'ops@acgs.example' };
}
