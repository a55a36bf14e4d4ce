import { RESTART_DOCUMENT } from '../core/document-names.ts';
import { serviceCommandParameters } from '../core/document-parameters.ts';
import { errorMessage } from '../core/errors.ts';
import { escalate, type MaintenanceWindow } from '../core/escalation.ts';
import { DETAIL_TYPE } from '../core/events.ts';
import type { TargetState } from '../core/health-state.ts';
import type { Incident } from '../core/incident.ts';
import { planRemediation, type RemediationAttempt, type RemediationDecision } from '../core/remediation.ts';
import type { CommandResult } from '../ports.ts';
import { advanceEscalation } from './advance-escalation.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

export interface RemediationRun {
  readonly decisions: readonly (RemediationDecision & { readonly incidentId: string })[];
  /** Restarts in flight; they record their outcome on the ledger and the timeline when they finish. */
  readonly inFlight: readonly Promise<void>[];
}

/**
 * Applies the remediation policy to the open incidents: requests restarts (without waiting for them: a restart
 * may take minutes, and recovery is proven by the probes anyway) and escalates once per service whose breaker
 * opened.
 */
export async function remediate(
  ctx: ControlPlaneContext,
  open: readonly Incident[],
  states: ReadonlyMap<string, TargetState>,
  windows: readonly MaintenanceWindow[],
): Promise<RemediationRun> {
  const now = ctx.clock.now();
  const { breaker, restartTimeout } = ctx.config.remediation;
  const services = [...new Set(open.flatMap((i) => i.services))];
  if (services.length === 0) return { decisions: [], inFlight: [] };
  const [attempts, isolated] = await Promise.all([
    ctx.control.listAttempts(services, now - Math.max(breaker.window, restartTimeout)),
    ctx.control.listIsolated(),
  ]);
  const settleMs = ctx.health.probeIntervalMs * (ctx.config.thresholds.successesToUp + 1);
  const decisions: (RemediationDecision & { incidentId: string })[] = [];
  const inFlight: Promise<void>[] = [];
  const requested = new Set<string>();
  for (const incident of open) {
    const plan = planRemediation({
      incident,
      targets: ctx.targets,
      states,
      attempts,
      isolated,
      windows,
      config: ctx.config,
      settleMs,
      now,
    });
    const tripped: { service: string; restarts: number }[] = [];
    for (const decision of plan) {
      decisions.push({ ...decision, incidentId: incident.id });
      if (decision.action === 'restart' && !requested.has(decision.service)) {
        requested.add(decision.service);
        inFlight.push((await requestRestart(ctx, incident, decision.service)).done);
      } else if (decision.action === 'escalate') {
        tripped.push({ service: decision.service, restarts: decision.restarts });
      }
    }
    // One escalation per incident, however many of its services tripped their breakers in this cycle.
    if (tripped.length > 0) await escalateBreaker(ctx, incident, tripped, windows);
  }
  return { decisions, inFlight };
}

async function requestRestart(
  ctx: ControlPlaneContext,
  incident: Incident,
  service: string,
): Promise<{ done: Promise<void> }> {
  const now = ctx.clock.now();
  const attempt: RemediationAttempt = {
    id: `${incident.id}:${service}:${now}`,
    service,
    incidentId: incident.id,
    action: 'restart',
    requestedAt: now,
    outcome: 'pending',
  };
  await ctx.control.recordAttempt(attempt);
  await note(ctx, incident.id, service, 'requested', `restart of ${service} requested (${RESTART_DOCUMENT})`);
  ctx.log('restart-requested', { incidentId: incident.id, service });
  const running = ctx.commands
    .run({
      document: RESTART_DOCUMENT,
      parameters: serviceCommandParameters(ctx.config, service, {
        document: RESTART_DOCUMENT,
        stateDirectory: ctx.config.fleet.hostStateDirectory,
      }),
      timeoutMs: ctx.config.remediation.restartTimeout,
    })
    .catch((error: unknown) => ({
      status: 'failed' as const,
      output: errorMessage(error),
    }));
  const done = running.then(async (result) => {
    if (result.status === 'pending' && result.commandId !== undefined) {
      // Asynchronous (SSM Run Command): the outcome comes back by command id, or the sweep expires it.
      await ctx.control.attachCommand(attempt.id, result.commandId);
      ctx.log('restart-sent', { incidentId: incident.id, service, commandId: result.commandId });
      return;
    }
    await finishRemediation(ctx, attempt, result);
  });
  // The outcome is written when the command ends; failing to write it must be seen, not crash the daemon.
  return {
    done: done.catch((error: unknown) => {
      ctx.log('restart-record-failed', { incidentId: incident.id, service, error: String(error) });
    }),
  };
}

/**
 * Records how a restart ended, on the ledger and on the incident's timeline. Called when a local command returns,
 * when SSM reports a command's final status, and by the sweep for attempts that never reported. Idempotent: an
 * attempt already finished is left as it is.
 */
export async function finishRemediation(
  ctx: ControlPlaneContext,
  attempt: RemediationAttempt,
  result: Pick<CommandResult, 'status' | 'exitCode' | 'output'>,
): Promise<void> {
  if (attempt.outcome !== 'pending') return;
  const ok = result.status === 'succeeded';
  const detail = `${result.status}${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}: ${lastLine(result.output)}`;
  const finished = await ctx.control.finishAttempt(attempt.id, ok ? 'succeeded' : 'failed', ctx.clock.now(), detail);
  if (!finished) return;
  await note(
    ctx,
    attempt.incidentId,
    attempt.service,
    ok ? 'succeeded' : 'failed',
    `restart of ${attempt.service} ${detail}`,
  );
  await publishEvents(ctx, [
    {
      detailType: DETAIL_TYPE.remediationFinished,
      detail: {
        attemptId: attempt.id,
        incidentId: attempt.incidentId,
        service: attempt.service,
        outcome: ok ? 'succeeded' : 'failed',
        detail,
        at: new Date(ctx.clock.now()).toISOString(),
      },
    },
  ]);
  ctx.log('restart-finished', { incidentId: attempt.incidentId, service: attempt.service, status: result.status });
}

/**
 * Attempts that never reported (a command stuck InProgress, a lost status event, a crash) count as failed once
 * the restart timeout and a grace minute have passed, so the breaker sees them and nothing waits forever.
 */
export async function expireStuckAttempts(ctx: ControlPlaneContext): Promise<number> {
  const graceMs = 60_000;
  const stuck = await ctx.control.listPendingAttempts(
    ctx.clock.now() - ctx.config.remediation.restartTimeout - graceMs,
  );
  for (const attempt of stuck) {
    await finishRemediation(ctx, attempt, {
      status: 'timed-out',
      output: `no result within ${Math.round(ctx.config.remediation.restartTimeout / 1000)}s (stuck in progress or lost)`,
    });
  }
  return stuck.length;
}

async function note(
  ctx: ControlPlaneContext,
  incidentId: string,
  service: string,
  outcome: 'requested' | 'succeeded' | 'failed',
  detail: string,
): Promise<void> {
  const at = ctx.clock.now();
  await updateIncidentWithRetry(ctx, incidentId, (current) => ({
    incident: current,
    timeline: [{ at, type: 'remediation', action: 'restart', service, outcome, detail }],
  }));
}

async function escalateBreaker(
  ctx: ControlPlaneContext,
  incident: Incident,
  tripped: readonly { service: string; restarts: number }[],
  windows: readonly MaintenanceWindow[],
): Promise<void> {
  ctx.log('breaker-open', { incidentId: incident.id, services: tripped.map((t) => t.service) });
  const windowMs = ctx.config.remediation.breaker.window;
  await advanceEscalation(ctx, incident, windows, (current, now) => {
    const fresh = tripped.filter((t) => !current.breakerTripped.includes(t.service));
    if (fresh.length === 0 || current.status === 'resolved') return undefined;
    const marked: Incident = {
      ...current,
      breakerTripped: [...current.breakerTripped, ...fresh.map((t) => t.service)],
    };
    const outcome = escalate(marked, now, 'breaker-open');
    return {
      ...outcome,
      timeline: [
        ...fresh.map((t) => ({
          at: now,
          type: 'breaker-open' as const,
          service: t.service,
          restarts: t.restarts,
          windowMs,
        })),
        ...outcome.timeline,
      ],
    };
  });
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return (lines.at(-1) ?? '').slice(0, 300) || 'no output';
}
