import { fleetCommandParameters } from '../core/document-parameters.ts';
import { formatDuration } from '../core/duration.ts';
import { ControlPlaneError, errorMessage } from '../core/errors.ts';
import type { MaintenanceWindow } from '../core/escalation.ts';
import { hostRuns } from '../core/host-runs.ts';
import type { Incident } from '../core/incident.ts';
import { maintenanceWindow } from '../core/maintenance-window.ts';
import type { CommandResult } from '../ports.ts';
import { awaitHealthy, type HealthObserver, probingHealth, recordedHealth } from './await-healthy.ts';
import { lastOutputLine } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';
import { closeMaintenanceWindow, withWindowNotices } from './maintenance.ts';
import { declareIncident } from './operator-actions.ts';
import { recordProcedureOnIncidents } from './record-procedure.ts';
import { runExclusive } from './run-exclusive.ts';
import { startAll } from './service-procedures.ts';

/*
 * The skeleton every production database recovery shares (the dump restore, the point-in-time restore): a maintenance
 * window first (so the stops are neither paged about nor undone), the dependent services stopped, the database steps,
 * the services started in config order and every health check waited for, then the steps that may follow (a fresh
 * base backup) and the window ended. Each step is timed and recorded; the first that fails stops the procedure, which
 * then ends the window (what is down must be seen and paged about), declares a P1 incident that pages, and records the
 * outcome on the incidents' timelines.
 */

export type RecoveryStepName =
  | 'window'
  | 'stop'
  | 'safety-dump'
  | 'restore'
  | 'pitr-restore'
  | 'start'
  | 'health'
  | 'base-backup'
  | 'end-window';
export type RecoveryStatus = 'succeeded' | 'failed' | 'timed-out' | 'rejected';

export interface RecoveryStep {
  readonly name: RecoveryStepName;
  readonly status: RecoveryStatus;
  readonly durationMs: number;
  readonly detail: string;
}

export interface StepOutcome {
  readonly status: RecoveryStatus;
  readonly detail: string;
  readonly output?: string;
}

export interface StepBody {
  readonly name: RecoveryStepName;
  readonly run: () => Promise<StepOutcome>;
}

export interface RecoveryDependencies {
  /** Waits between two looks at the health checks (tests move a manual clock). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** How the health checks are observed. @default probed where the context has a prober, else as recorded */
  readonly observeHealth?: HealthObserver;
}

export interface RecoveryProcedure {
  /** The audit trail's and the timeline's name of the procedure. */
  readonly action: string;
  /** What is recovered, for the logs (a backup id, a target time). */
  readonly subject: string;
  readonly by: string;
  /** The services stopped and started again, in config order. */
  readonly services: readonly string[];
  /** The database's check name: in the window with the services. */
  readonly database: string;
  readonly windowLengthMs: number;
  readonly windowReason: string;
  /** Run with the services stopped, in order. */
  readonly databaseSteps: readonly StepBody[];
  /** Run once the services are healthy, before the window ends. */
  readonly afterHealthSteps?: readonly StepBody[];
  /**
   * Start the services again when a database step fails (the database is as it was, or rolled back by its document).
   * @default false: they stay stopped (a half-restored database must not be served)
   */
  readonly startAfterFailure?: boolean;
  readonly incidentTitle: (failed: RecoveryStep) => string;
  /** The timeline's detail of a success, given the steps' summary. */
  readonly succeeded: (summary: string) => string;
  /** The error of a failure: what happened to the database and how to go back. */
  readonly failed: (failed: RecoveryStep) => string;
}

export interface RecoveryOutcome {
  readonly status: RecoveryStatus;
  readonly steps: readonly RecoveryStep[];
  readonly window?: MaintenanceWindow;
  /** The last lines of the documents' output. */
  readonly output: string;
  readonly error?: string;
  /** The P1 incident a failure declared (it pages). */
  readonly incident?: Incident;
}

/** Between two looks at the services' health checks. */
const HEALTH_POLL_MS = 1_000;

export async function runRecovery(
  ctx: ControlPlaneContext,
  procedure: RecoveryProcedure,
  deps: RecoveryDependencies = {},
): Promise<RecoveryOutcome> {
  const { services } = procedure;
  const steps: RecoveryStep[] = [];
  const outputs: string[] = [];
  let window: MaintenanceWindow | undefined;

  /** Runs one step and records it; false when it did not succeed. */
  const step = async ({ name, run }: StepBody): Promise<boolean> => {
    const at = ctx.clock.now();
    const t0 = performance.now();
    let outcome: StepOutcome;
    try {
      outcome = await run();
    } catch (error) {
      outcome = { status: 'failed', detail: errorMessage(error) };
    }
    // The clock may be a test's; the duration is measured, not read from it.
    const durationMs = Math.max(Math.round(performance.now() - t0), ctx.clock.now() - at, 0);
    steps.push({ name, status: outcome.status, durationMs, detail: outcome.detail });
    if (outcome.output) outputs.push(outcome.output);
    ctx.log('restore-step', { subject: procedure.subject, step: name, status: outcome.status, durationMs });
    return outcome.status === 'succeeded';
  };
  const start: StepBody = {
    name: 'start',
    run: async () => {
      if (services.length === 0) return { status: 'succeeded', detail: 'no service depends on the database' };
      const started = await startAll(ctx, { services });
      return documentOutcome(started.result, `started and healthy: ${services.join(', ')}`);
    },
  };

  const subjects = [...services, procedure.database];
  const sequence: StepBody[] = [
    {
      name: 'window',
      run: async () => {
        window = withWindowNotices(
          ctx,
          maintenanceWindow(
            { subjects, lengthMs: procedure.windowLengthMs, reason: procedure.windowReason, by: procedure.by },
            ctx.clock.now(),
          ),
        );
        await ctx.control.putMaintenanceWindow(window);
        return { status: 'succeeded', detail: `window ${window.id} for ${subjects.join(', ')}` };
      },
    },
    { name: 'stop', run: () => stopServices(ctx, services) },
    ...procedure.databaseSteps,
    start,
    { name: 'health', run: () => servicesHealthy(ctx, services, deps) },
    ...(procedure.afterHealthSteps ?? []),
    {
      name: 'end-window',
      run: async () => {
        if (!window) return { status: 'succeeded', detail: 'no window to end' };
        window = (await closeMaintenanceWindow(ctx, window)).window;
        return { status: 'succeeded', detail: `window ${window.id} ended` };
      },
    },
  ];
  let ok = true;
  for (const body of sequence) {
    ok = await step(body);
    if (!ok) break;
  }

  const summary = steps.map((s) => `${s.name} ${s.status} (${formatDuration(s.durationMs)})`).join(', ');
  if (ok) {
    await recordProcedureOnIncidents(ctx, {
      by: procedure.by,
      action: procedure.action,
      services,
      outcome: 'succeeded',
      detail: procedure.succeeded(summary),
    });
    return { status: 'succeeded', steps, ...(window ? { window } : {}), output: outputs.join('').slice(-4000) };
  }

  // Stopped: the failed step is the last one recorded.
  const failed = steps.at(-1) as RecoveryStep;
  let error = procedure.failed(failed);
  const stopped = steps.some((s) => s.name === 'stop');
  const startedAgain = steps.some((s) => s.name === 'start');
  if (procedure.startAfterFailure && stopped && !startedAgain && services.length > 0) {
    // The services go back up on the database as its document left it (as it was, or rolled back).
    const again: StepOutcome = await start
      .run()
      .catch((e: unknown): StepOutcome => ({ status: 'failed', detail: errorMessage(e) }));
    if (again.output) outputs.push(again.output);
    error +=
      again.status === 'succeeded'
        ? `; the services were started again: ${services.join(', ')}`
        : `; starting the services again failed: ${again.detail}`;
  }
  // The window ends so that what is down is seen, and paged about, as an outage.
  if (window && window.endsAt > ctx.clock.now()) {
    const ended = await closeMaintenanceWindow(ctx, window).catch((e: unknown) => {
      ctx.log('restore-window-not-ended', { window: window?.id, error: errorMessage(e) });
      return undefined;
    });
    if (ended) window = ended.window;
  }
  let incident: Incident | undefined;
  try {
    ({ incident } = await declareIncident(ctx, {
      kind: 'manual',
      severity: 'P1',
      title: procedure.incidentTitle(failed).slice(0, 200),
      services: [...services],
      by: procedure.by,
    }));
  } catch (e) {
    ctx.log('restore-incident-failed', { subject: procedure.subject, error: errorMessage(e) });
  }
  await recordProcedureOnIncidents(ctx, {
    by: procedure.by,
    action: procedure.action,
    services,
    outcome: failed.status,
    detail: error,
  });
  return {
    status: failed.status,
    steps,
    ...(window ? { window } : {}),
    output: outputs.join('').slice(-4000),
    error,
    ...(incident ? { incident } : {}),
  };
}

/**
 * Runs `run` as the one restore of `database` at a time, across every runtime sharing the control store (a dump
 * restore and a point-in-time restore alike): the lease lasts `maxRunMs` (the window the restore opens), so a crashed
 * restore keeps the next one out no longer than it could have run.
 * @throws ControlPlaneError `RESTORE_RUNNING` naming who holds it, when another runs: nothing was done
 */
export async function runOneRestore<T>(
  ctx: ControlPlaneContext,
  lease: { readonly database: string; readonly by: string; readonly maxRunMs: number },
  run: () => Promise<T>,
): Promise<T> {
  const exclusive = await runExclusive(
    ctx,
    {
      name: `restore:${lease.database}`,
      // A lease holder is a plain token: who (as far as its characters go) and when.
      holder: `${lease.by.replace(/[^A-Za-z0-9._:@/-]/g, '_').slice(0, 150)}@${new Date(ctx.clock.now()).toISOString()}`,
      maxRunMs: lease.maxRunMs,
    },
    run,
  );
  if (!exclusive.ran)
    throw new ControlPlaneError(
      'RESTORE_RUNNING',
      `another restore of ${lease.database} is running (${exclusive.heldBy}, until ${exclusive.until} at the latest): nothing was done`,
    );
  return exclusive.value;
}

/** A document's result as a step's outcome: a dispatched command is no result (the database's state is unknown). */
export function documentOutcome(result: CommandResult, done: string): StepOutcome & { output: string } {
  if (result.status === 'succeeded') return { status: 'succeeded', detail: done, output: result.output };
  const exit = result.exitCode === undefined ? '' : ` (exit ${result.exitCode})`;
  const status: RecoveryStatus = result.status === 'pending' ? 'failed' : result.status;
  return {
    status,
    detail: `${result.status}${exit}: ${lastOutputLine(result.output) || 'no output'}`,
    output: result.output,
  };
}

/**
 * Stops the services with `acgs-stop-all`, one command per consecutive run of services on one host (a fleet document
 * runs its whole list on every instance it reaches); stops at the first run that does not succeed.
 */
async function stopServices(ctx: ControlPlaneContext, services: readonly string[]): Promise<StepOutcome> {
  if (services.length === 0) return { status: 'succeeded', detail: 'no service depends on the database' };
  const outputs: string[] = [];
  for (const run of hostRuns(ctx.config, services)) {
    const result = await ctx.commands.run({
      document: 'acgs-stop-all',
      parameters: fleetCommandParameters(ctx.config, 'acgs-stop-all', { services: run.services }),
      timeoutMs: ctx.config.remediation.restartTimeout * 2,
    });
    outputs.push(result.output);
    if (result.status !== 'succeeded') {
      const outcome = documentOutcome(result, '');
      return {
        ...outcome,
        detail: `${run.services.join(', ')} on ${run.where}: ${outcome.detail}`,
        output: outputs.join(''),
      };
    }
  }
  return { status: 'succeeded', detail: `stopped: ${services.join(', ')}`, output: outputs.join('') };
}

/**
 * Waits until every health check of the services is known healthy since this step began, within
 * `remediation.restartTimeout`: probed here where the context has a prober (one host), else as the scheduled probe
 * records them (AWS: the operator Lambda is outside the VPC).
 */
async function servicesHealthy(
  ctx: ControlPlaneContext,
  services: readonly string[],
  deps: RecoveryDependencies,
): Promise<StepOutcome> {
  if (services.length === 0) return { status: 'succeeded', detail: 'no service to wait for' };
  const result = await awaitHealthy(ctx, {
    services,
    since: ctx.clock.now(),
    timeoutMs: ctx.config.remediation.restartTimeout,
    observe: deps.observeHealth ?? (ctx.prober ? probingHealth(ctx.prober) : recordedHealth),
    pollIntervalMs: HEALTH_POLL_MS,
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
  });
  if (result.healthy) return { status: 'succeeded', detail: `healthy: ${services.join(', ')}` };
  return {
    status: 'timed-out',
    detail: `not healthy within ${formatDuration(ctx.config.remediation.restartTimeout)}: ${result.unhealthy
      .map((u) => `${u.service} ${u.state} (${u.reason})`)
      .join('; ')}`,
  };
}
