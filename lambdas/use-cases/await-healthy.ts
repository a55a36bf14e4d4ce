import type { TargetHealth, TargetState } from '../core/health-state.ts';
import type { ProbeStatus } from '../core/probe-evaluation.ts';
import type { Target } from '../core/targets.ts';
import type { Prober } from '../ports.ts';
import { runProbes } from '../probes/run-probes.ts';
import type { ControlPlaneContext } from './context.ts';
import { checkServiceNames } from './service-procedures.ts';

/** A service's health as the operators' API words it. */
export type ServiceState = 'healthy' | 'degraded' | 'down' | 'unknown';

/** What is known of one target of a service. */
export interface TargetObservation {
  readonly service: string;
  readonly targetId: string;
  readonly state: ServiceState;
  /**
   * The latest time the target is known to have been in `state` (epoch ms); undefined when nothing is known. A wait
   * for health "since T" counts a target only once this is at or after T.
   */
  readonly knownAt?: number;
  /** When `state` began, as recorded (recorded observations only). */
  readonly since?: number;
  /** Why it is not healthy, one line. */
  readonly reason?: string;
}

/** How a wait learns the health of the services' targets. */
export type HealthObserver = (ctx: ControlPlaneContext, services: readonly string[]) => Promise<TargetObservation[]>;

/** The health-check targets of `services` (one per service in a config today). */
export function serviceTargets(ctx: ControlPlaneContext, services: readonly string[]): Target[] {
  return ctx.targets.filter((t) => t.role === 'service' && services.includes(t.service ?? t.name));
}

const STATE_OF: Record<TargetHealth, ServiceState> = {
  up: 'healthy',
  degraded: 'degraded',
  down: 'down',
  unknown: 'unknown',
};

/**
 * Reads the states the scheduled probe records (AWS: the operator Lambda is outside the VPC and cannot probe). A
 * recorded state changes only when the probes see a change, so a target recorded `up` is known up as of the later of
 * when it came up and `failuresToDown` probe intervals ago: had it failed before that, the probes would have
 * recorded it down by now.
 */
export const recordedHealth: HealthObserver = async (ctx, services) => {
  const targets = serviceTargets(ctx, services);
  const states = await ctx.states.loadTargetStates(targets.map((t) => t.id));
  const now = ctx.clock.now();
  const lag = ctx.health.failuresToDown * ctx.health.probeIntervalMs;
  return targets.map((t) => recordedObservation(t, states.get(t.id), now, lag));
};

function recordedObservation(
  target: Target,
  state: TargetState | undefined,
  now: number,
  lag: number,
): TargetObservation {
  const service = target.service ?? target.name;
  if (state === undefined) return { service, targetId: target.id, state: 'unknown', reason: 'never probed' };
  const mapped = STATE_OF[state.health];
  return {
    service,
    targetId: target.id,
    state: mapped,
    since: state.since,
    ...(mapped === 'unknown' ? {} : { knownAt: Math.max(state.since, now - lag) }),
    ...(mapped === 'healthy' ? {} : { reason: state.lastProblem ?? state.lastReason ?? 'not probed healthy yet' }),
  };
}

const PROBED_STATE: Record<ProbeStatus, ServiceState> = { healthy: 'healthy', degraded: 'degraded', unhealthy: 'down' };

/** Probes the targets now (one host: the control plane reaches its services), each result known at its time. */
export function probingHealth(prober: Prober): HealthObserver {
  return async (ctx, services) => {
    const targets = serviceTargets(ctx, services);
    const { probeTimeout, probeLatency, probeConcurrency } = ctx.config.thresholds;
    const results = await runProbes(
      targets,
      prober,
      { timeoutMs: probeTimeout, slowAfterMs: probeLatency, concurrency: probeConcurrency },
      ctx.clock,
    );
    return results.map((r, i) => {
      const service = targets[i]?.service ?? r.name;
      const state = PROBED_STATE[r.status];
      return {
        service,
        targetId: r.targetId,
        state,
        knownAt: r.checkedAt,
        ...(state === 'healthy' ? {} : { reason: `${r.reason}: ${r.detail}` }),
      };
    });
  };
}

export interface AwaitHealthyRequest {
  readonly services: readonly string[];
  /** Count only health known at or after this time (epoch ms), e.g. when a restart began. @default none */
  readonly since?: number;
  readonly timeoutMs: number;
  /** @default recordedHealth */
  readonly observe?: HealthObserver;
  /** Between observations. @default 5000 */
  readonly pollIntervalMs?: number;
  /** How to wait between observations (tests move a manual clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type AwaitHealthyResult =
  | { readonly healthy: true; readonly services: readonly string[]; readonly waitedMs: number }
  | {
      readonly healthy: false;
      readonly unhealthy: readonly {
        readonly service: string;
        readonly state: ServiceState;
        readonly reason: string;
      }[];
      readonly waitedMs: number;
    };

/**
 * Waits until every target of `services` is known healthy at or after `since`, or until `timeoutMs` has passed;
 * then names each service still not healthy, its state and why.
 * @throws UsageError naming services the fleet does not have (before anything is observed).
 */
export async function awaitHealthy(
  ctx: ControlPlaneContext,
  request: AwaitHealthyRequest,
): Promise<AwaitHealthyResult> {
  checkServiceNames(ctx.config, request.services);
  const observe = request.observe ?? recordedHealth;
  const sleep = request.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const poll = request.pollIntervalMs ?? 5_000;
  const started = ctx.clock.now();
  const deadline = started + request.timeoutMs;
  for (;;) {
    const observations = await observe(ctx, request.services);
    const pending = notYetHealthy(request.services, observations, request.since);
    const now = ctx.clock.now();
    if (pending.length === 0) return { healthy: true, services: [...request.services], waitedMs: now - started };
    if (now >= deadline) return { healthy: false, unhealthy: pending, waitedMs: now - started };
    await sleep(Math.min(poll, deadline - now));
  }
}

function notYetHealthy(
  services: readonly string[],
  observations: readonly TargetObservation[],
  since: number | undefined,
): { service: string; state: ServiceState; reason: string }[] {
  return services.flatMap((service) => {
    const own = observations.filter((o) => o.service === service);
    if (own.length === 0) return [{ service, state: 'unknown' as const, reason: 'no health check observed' }];
    const bad = own.find(
      (o) => o.state !== 'healthy' || (since !== undefined && (o.knownAt === undefined || o.knownAt < since)),
    );
    if (bad === undefined) return [];
    const reason =
      bad.state === 'healthy'
        ? `healthy, but not yet known healthy since ${new Date(since ?? 0).toISOString()}`
        : (bad.reason ?? bad.state);
    return [{ service, state: bad.state, reason }];
  });
}

/** A service's row for GET /services: its recorded health, isolation and where it runs. */
export interface ServiceStatus {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly state: ServiceState;
  readonly isolated: boolean;
  readonly since?: number;
  readonly reason?: string;
}

/** Every service of the fleet, in config order, with its recorded health (worst of its targets) and isolation. */
export async function listServiceStatus(ctx: ControlPlaneContext): Promise<ServiceStatus[]> {
  const names = ctx.config.services.map((s) => s.name);
  const [observations, isolated] = await Promise.all([recordedHealth(ctx, names), ctx.control.listIsolated()]);
  const rank: Record<ServiceState, number> = { healthy: 0, unknown: 1, degraded: 2, down: 3 };
  return ctx.config.services.map((s) => {
    const own = observations.filter((o) => o.service === s.name);
    const worst = own.reduce<TargetObservation | undefined>(
      (w, o) => (w === undefined || rank[o.state] > rank[w.state] ? o : w),
      undefined,
    );
    return {
      name: s.name,
      host: s.host,
      port: s.port,
      state: worst?.state ?? 'unknown',
      isolated: isolated.has(s.name),
      ...(worst?.since === undefined ? {} : { since: worst.since }),
      ...(worst?.reason === undefined ? {} : { reason: worst.reason }),
    };
  });
}
