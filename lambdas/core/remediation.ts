import type { FleetConfig } from './config-schema.ts';
import { type MaintenanceWindow, mutingWindow } from './escalation.ts';
import type { TargetState } from './health-state.ts';
import type { Incident, IncidentKind } from './incident.ts';
import type { Target } from './targets.ts';

/**
 * Remediation policy. A service-down incident (or an outage grouping several) plans a restart of each down
 * service. A breaker caps restarts per service per window; once open it escalates instead of looping (restart
 * loops hide the real fault). Recovery is proven by probes, never by the command's exit code.
 */
export interface RemediationAttempt {
  readonly id: string;
  readonly service: string;
  readonly incidentId: string;
  readonly action: 'restart';
  readonly requestedAt: number;
  readonly finishedAt?: number;
  readonly outcome: 'pending' | 'succeeded' | 'failed';
  readonly detail?: string;
  /** The asynchronous command carrying the attempt out (SSM Run Command), once sent. */
  readonly commandId?: string;
}

export type RemediationDecision =
  | { readonly service: string; readonly action: 'restart' }
  | {
      readonly service: string;
      readonly action: 'skip';
      readonly why: 'disabled' | 'isolated' | 'maintenance' | 'in-progress' | 'settling' | 'breaker-open';
    }
  | { readonly service: string; readonly action: 'escalate'; readonly why: 'breaker-open'; readonly restarts: number };

/** Incident kinds whose down services a restart may fix (not a down database: restarting its clients won't). */
const RESTARTABLE: ReadonlySet<IncidentKind> = new Set(['service-down', 'fleet-outage', 'host-outage']);

export interface RemediationInput {
  readonly incident: Incident;
  readonly targets: readonly Target[];
  readonly states: ReadonlyMap<string, TargetState>;
  /** Attempts for the incident's services, at least those inside the breaker window. */
  readonly attempts: readonly RemediationAttempt[];
  readonly isolated: ReadonlySet<string>;
  readonly windows: readonly MaintenanceWindow[];
  readonly config: FleetConfig;
  /** After a finished attempt, give the probes this long to see the service come back before trying again. */
  readonly settleMs: number;
  readonly now: number;
}

export function planRemediation(input: RemediationInput): RemediationDecision[] {
  const { incident, targets, states, attempts, isolated, windows, config, settleMs, now } = input;
  // A database outage's services are left alone while the database is down (restarting its clients won't help);
  // once it is back, whichever of them are still down get the same treatment as any down service.
  const dependencyBack = incident.kind === 'dependency-down' && states.get(incident.dedupKey)?.health === 'up';
  if (incident.status === 'resolved' || incident.flapping || !(RESTARTABLE.has(incident.kind) || dependencyBack))
    return [];
  const downServices = targets
    .filter((t) => t.role === 'service' && incident.targets.includes(t.id))
    .filter((t) => states.get(t.id)?.health === 'down' && !states.get(t.id)?.flapping)
    .map((t) => t.service ?? t.name);

  const { breaker, restartTimeout, enabled } = config.remediation;
  return downServices.map((service): RemediationDecision => {
    if (!enabled) return { service, action: 'skip', why: 'disabled' };
    if (isolated.has(service)) return { service, action: 'skip', why: 'isolated' };
    if (mutingWindow({ kind: 'service-down', dedupKey: service, services: [service], targets: [] }, windows, now))
      return { service, action: 'skip', why: 'maintenance' };
    const mine = attempts.filter((a) => a.service === service).sort((a, b) => b.requestedAt - a.requestedAt);
    const last = mine[0];
    if (last?.outcome === 'pending' && now - last.requestedAt < restartTimeout)
      return { service, action: 'skip', why: 'in-progress' };
    if (last && last.outcome !== 'pending' && now - (last.finishedAt ?? last.requestedAt) < settleMs)
      return { service, action: 'skip', why: 'settling' };
    const recent = mine.filter((a) => now - a.requestedAt < breaker.window).length;
    if (recent >= breaker.maxRestarts) {
      return incident.breakerTripped.includes(service)
        ? { service, action: 'skip', why: 'breaker-open' }
        : { service, action: 'escalate', why: 'breaker-open', restarts: recent };
    }
    return { service, action: 'restart' };
  });
}
