import {
  type FleetDocumentName,
  fleetCommandParameters,
  type RollingUpdateMode,
  rollingUpdateParameters,
  type ServiceDocumentName,
  serviceCommandParameters,
} from '../core/document-parameters.ts';
import { MINUTE_MS } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import type { MaintenanceWindow } from '../core/escalation.ts';
import { hostRuns } from '../core/host-runs.ts';
import type { ProcedureOutcome } from '../core/incident.ts';
import { checkWindowTiming, maintenanceWindow } from '../core/maintenance-window.ts';
import type { CommandResult } from '../ports.ts';
import { type ControlPlaneContext, isolationWindowId } from './context.ts';
import { closeMaintenanceWindow, withWindowNotices } from './maintenance.ts';
import { unmuteIncidents } from './unmute.ts';

/*
 * The runbook's service procedures, run through the SSM documents by `ctx.commands` (the shell runner on a host,
 * SSM Run Command in AWS). Each records what the control plane must know first (a maintenance window, an
 * isolation), so that it neither pages about nor restarts what an operator stops on purpose. The windows' reasons
 * keep the wording the CLI has always stored (`acgs-ops service stop by NAME`).
 */

/** What a procedure ran: the services, in order, and the document's result. */
export interface ProcedureRun {
  readonly services: readonly string[];
  /** The outcome of the whole procedure (of its one document, or of the step it stopped at). */
  readonly result: CommandResult;
  /** The maintenance window the procedure opened, as it was last written. */
  readonly window?: MaintenanceWindow;
  /** A procedure of several documents (restart-all, a fleet list spanning hosts): each, in order. */
  readonly steps?: readonly ProcedureStep[];
}

/** One document a procedure ran, or did not run because an earlier one failed (`not-run`), or left out (`skipped`). */
export interface ProcedureStep {
  readonly name: string;
  readonly status: ProcedureOutcome | 'skipped' | 'not-run';
  readonly durationMs: number;
  /** One line: the document's last word, or why the step did not run. */
  readonly detail: string;
}

/** Told when a procedure opens or ends a window, as it happens (before the document runs, after it ends). */
export type WindowObserver = (change: {
  readonly change: 'opened' | 'ended';
  readonly window: MaintenanceWindow;
}) => void;

/** The maintenance window a stop opens when no length is given. */
export const DEFAULT_STOP_WINDOW_MS = 30 * MINUTE_MS;

/** An isolated service is started only when forced: `code` lets a transport word the refusal its own way. */
export const SERVICE_ISOLATED = 'SERVICE_ISOLATED';

/**
 * Every name is a service of the fleet (checked before anything is recorded or run).
 * @throws UsageError naming the services the fleet does not have.
 */
export function checkServiceNames(config: ControlPlaneContext['config'], names: readonly string[]): void {
  const known = config.services.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new UsageError(`unknown service ${unknown.join(', ')} (services: ${known.join(', ')})`);
}

export interface ServiceRequest {
  readonly service: string;
  /** Who acts, recorded with an isolation and on a window. */
  readonly by: string;
}

export interface StopRequest extends ServiceRequest {
  /** The maintenance window opened first, within MAINTENANCE_WINDOW_LENGTH. @default 30 minutes */
  readonly windowMs?: number;
  readonly onWindow?: WindowObserver;
}

/** Stops a service after opening a maintenance window for it, so the stop is neither paged about nor undone. */
export async function stopService(ctx: ControlPlaneContext, request: StopRequest): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  const window = await openStopWindow(ctx, [request.service], 'stop', request);
  const result = await runServiceDocument(ctx, 'acgs-stop-service', request.service);
  return { services: [request.service], result, window };
}

export interface StartRequest extends ServiceRequest {
  /** Start an isolated service anyway, lifting its isolation once it is up. @default false */
  readonly force?: boolean;
}

/**
 * Starts a service.
 * @throws ControlPlaneError SERVICE_ISOLATED when it is isolated and not forced.
 */
export async function startService(ctx: ControlPlaneContext, request: StartRequest): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  const now = ctx.clock.now();
  const force = request.force ?? false;
  if (!force && (await ctx.control.listIsolated()).has(request.service))
    throw new ControlPlaneError(
      SERVICE_ISOLATED,
      `${request.service} is isolated; release it first, or start it forced`,
    );
  const result = await runServiceDocument(ctx, 'acgs-start-service', request.service, force);
  if (force && result.status === 'succeeded') await lift(ctx, request.service, request.by, now);
  return { services: [request.service], result };
}

export interface RestartRequest {
  readonly service: string;
  /** Passed to the document: restart even if isolated on the host. @default false */
  readonly force?: boolean;
}

/** Restarts a service (stop with grace, start, wait for health). */
export async function restartService(ctx: ControlPlaneContext, request: RestartRequest): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  const result = await runServiceDocument(ctx, 'acgs-restart-service', request.service, request.force);
  return { services: [request.service], result };
}

/**
 * Records the service as isolated (no automatic restart, no page about it), then stops it. When the document
 * fails the service stays recorded as isolated: nothing automatic must start it.
 */
export async function isolateService(ctx: ControlPlaneContext, request: ServiceRequest): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  await ctx.control.setIsolated(request.service, true, request.by, ctx.clock.now());
  const result = await runServiceDocument(ctx, 'acgs-isolate-service', request.service);
  return { services: [request.service], result };
}

/**
 * Lifts the isolation on the host and, once that succeeded, in the control plane: the incidents it muted page
 * again, and a service still down is restarted as usual.
 */
export async function releaseService(ctx: ControlPlaneContext, request: ServiceRequest): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  const now = ctx.clock.now();
  const result = await runServiceDocument(ctx, 'acgs-release-service', request.service);
  if (result.status === 'succeeded') await lift(ctx, request.service, request.by, now);
  return { services: [request.service], result };
}

/** Collects a service's diagnostics (its port, log tail, health, dependencies); records nothing. */
export async function collectDiagnostics(
  ctx: ControlPlaneContext,
  request: { readonly service: string },
): Promise<ProcedureRun> {
  checkServiceNames(ctx.config, [request.service]);
  const result = await runServiceDocument(ctx, 'acgs-collect-diagnostics', request.service);
  return { services: [request.service], result };
}

export interface FleetRequest {
  /** These services, in this order. @default every service of the fleet, in config order */
  readonly services?: readonly string[];
}

export interface StartAllRequest extends FleetRequest {
  /** Seconds each service has to become healthy. @default fits a restart in remediation.restartTimeout */
  readonly timeoutSeconds?: number;
}

/**
 * Starts the services (isolated ones are left down by the document): one document per consecutive run of services
 * on one host, in order, stopping at the first run that fails (what comes later may depend on it).
 */
export async function startAll(ctx: ControlPlaneContext, request: StartAllRequest = {}): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const { result, steps } = await runFleetByHost(ctx, 'acgs-start-all', services, {
    stopAtFailure: true,
    ...(request.timeoutSeconds === undefined ? {} : { timeoutSeconds: request.timeoutSeconds }),
  });
  return { services, result, ...(steps ? { steps } : {}) };
}

export interface StopAllRequest extends FleetRequest {
  readonly by: string;
  /** The maintenance window opened first, within MAINTENANCE_WINDOW_LENGTH. @default 30 minutes */
  readonly windowMs?: number;
  readonly onWindow?: WindowObserver;
}

/**
 * Stops the services after opening a maintenance window for them (for the whole fleet when none are named): one
 * document per consecutive run of services on one host, every run tried even when one fails (an emergency stop
 * stops all it can), the result failed if any did.
 */
export async function stopAll(ctx: ControlPlaneContext, request: StopAllRequest): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const subjects = request.services === undefined || request.services.length === 0 ? ['*'] : services;
  const window = await openStopWindow(ctx, subjects, 'stop-all', request);
  const { result, steps } = await runFleetByHost(ctx, 'acgs-stop-all', services, { stopAtFailure: false });
  return { services, result, window, ...(steps ? { steps } : {}) };
}

export interface RestartAllRequest extends FleetRequest {
  readonly by: string;
  /**
   * The maintenance window covering the restart, within MAINTENANCE_WINDOW_LENGTH.
   * @default room for the stop and every start (remediation.restartTimeout each), plus a minute
   */
  readonly windowMs?: number;
  readonly onWindow?: WindowObserver;
}

/**
 * The runbook's emergency restart of the fleet: opens a maintenance window, stops every service (the stop-all
 * document, per host, in reverse order so dependents go first), then starts them one at a time in the order given
 * (default: config order, the runbook's dependency order), each verified healthy by the start document before the
 * next. Stops at the first service that does not come back, saying which and what was not started; isolated
 * services are not started. The window ends with the procedure, whatever the result: a service left down is then
 * paged about and restarted as usual.
 */
export async function restartAll(ctx: ControlPlaneContext, request: RestartAllRequest): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const subjects = request.services === undefined || request.services.length === 0 ? ['*'] : services;
  const lengthMs = request.windowMs ?? ctx.config.remediation.restartTimeout * (services.length + 1) + MINUTE_MS;
  checkWindowTiming({ lengthMs });
  const window = withWindowNotices(
    ctx,
    maintenanceWindow(
      { subjects, lengthMs, reason: `acgs-ops service restart-all by ${request.by}`, by: request.by },
      ctx.clock.now(),
    ),
  );
  await ctx.control.putMaintenanceWindow(window);
  request.onWindow?.({ change: 'opened', window });
  const steps: ProcedureStep[] = [];
  let result: CommandResult;
  let ended = window;
  try {
    const stopStarted = ctx.clock.now();
    const stop = await runFleetByHost(ctx, 'acgs-stop-all', [...services].reverse(), { stopAtFailure: false });
    steps.push(
      ...(stop.steps ?? [
        {
          name: `acgs-stop-all ${[...services].reverse().join(', ')}`,
          status: stop.result.status,
          durationMs: ctx.clock.now() - stopStarted,
          detail: lastLine(stop.result.output),
        },
      ]),
    );
    if (stop.result.status !== 'succeeded') {
      result = {
        ...stop.result,
        output: `${stop.result.output}restart-all: the stop did not succeed (${stop.result.status}); nothing was started\n`,
      };
    } else {
      result = await startOneByOne(ctx, services, steps);
    }
  } finally {
    ended = (await closeMaintenanceWindow(ctx, window)).window;
    request.onWindow?.({ change: 'ended', window: ended });
  }
  return { services, result, window: ended, steps };
}

/** Starts each service in turn, each verified healthy; stops at the first that is not, naming what it left down. */
async function startOneByOne(
  ctx: ControlPlaneContext,
  services: readonly string[],
  steps: ProcedureStep[],
): Promise<CommandResult> {
  const isolated = await ctx.control.listIsolated();
  let failed: { readonly service: string; readonly result: CommandResult } | undefined;
  const notStarted: string[] = [];
  for (const service of services) {
    const name = `acgs-start-service ${service}`;
    if (failed) {
      notStarted.push(service);
      steps.push({ name, status: 'not-run', durationMs: 0, detail: `not started: ${failed.service} failed first` });
      continue;
    }
    if (isolated.has(service)) {
      steps.push({ name, status: 'skipped', durationMs: 0, detail: `${service} is isolated: not started` });
      continue;
    }
    const started = ctx.clock.now();
    const result = await runServiceDocument(ctx, 'acgs-start-service', service);
    steps.push({ name, status: result.status, durationMs: ctx.clock.now() - started, detail: lastLine(result.output) });
    if (result.status !== 'succeeded') failed = { service, result };
  }
  const skipped = services.filter((s) => isolated.has(s));
  const skippedNote = skipped.length > 0 ? `; isolated, not started: ${skipped.join(', ')}` : '';
  if (failed === undefined)
    return {
      status: 'succeeded',
      exitCode: 0,
      output: `restart-all: stopped and started ${services.length - skipped.length} services, each healthy${skippedNote}\n`,
    };
  return {
    ...failed.result,
    output:
      `${failed.result.output}${failed.result.output.endsWith('\n') || failed.result.output === '' ? '' : '\n'}` +
      `restart-all stopped at ${failed.service}: it did not come back healthy (${failed.result.status}); ` +
      `not started: ${notStarted.join(', ') || 'none'}${skippedNote}\n`,
  };
}

export interface RollingUpdateRequest extends FleetRequest {
  readonly by: string;
  /** @default 'restart-only' */
  readonly update?: RollingUpdateMode;
  /** Branch of origin with `git-pull`. @default the document's (main) */
  readonly branch?: string;
  readonly onWindow?: WindowObserver;
}

/**
 * Restarts the services one at a time, stopping at the first that does not come back healthy (the document
 * does). A maintenance window covers them for the rollout and ends with it, whatever the result.
 */
export async function rollingUpdate(ctx: ControlPlaneContext, request: RollingUpdateRequest): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const update = request.update ?? 'restart-only';
  if (request.branch !== undefined && update !== 'git-pull')
    throw new UsageError('a branch applies to the git-pull update only');
  // Per service: the git pull, the stop's grace and the restart's health wait fit in restartTimeout.
  const rolloutMs = ctx.config.remediation.restartTimeout * Math.max(1, services.length) + MINUTE_MS;
  const window = withWindowNotices(
    ctx,
    maintenanceWindow(
      {
        subjects: services,
        lengthMs: rolloutMs,
        reason: `acgs-ops service rolling-update by ${request.by}`,
        by: request.by,
      },
      ctx.clock.now(),
    ),
  );
  await ctx.control.putMaintenanceWindow(window);
  request.onWindow?.({ change: 'opened', window });
  let result: CommandResult;
  let ended = window;
  try {
    result = await ctx.commands.run({
      document: 'acgs-rolling-update',
      parameters: rollingUpdateParameters(ctx.config, {
        services,
        stateDirectory: ctx.config.fleet.hostStateDirectory,
        update,
        ...(request.branch === undefined ? {} : { branch: request.branch }),
      }),
      timeoutMs: rolloutMs,
    });
  } finally {
    ended = (await closeMaintenanceWindow(ctx, window)).window;
    request.onWindow?.({ change: 'ended', window: ended });
  }
  return { services, result, window: ended };
}

async function openStopWindow(
  ctx: ControlPlaneContext,
  subjects: readonly string[],
  procedure: 'stop' | 'stop-all',
  request: { readonly by: string; readonly windowMs?: number; readonly onWindow?: WindowObserver },
): Promise<MaintenanceWindow> {
  const lengthMs = request.windowMs ?? DEFAULT_STOP_WINDOW_MS;
  checkWindowTiming({ lengthMs });
  const window = withWindowNotices(
    ctx,
    maintenanceWindow(
      { subjects, lengthMs, reason: `acgs-ops service ${procedure} by ${request.by}`, by: request.by },
      ctx.clock.now(),
    ),
  );
  await ctx.control.putMaintenanceWindow(window);
  request.onWindow?.({ change: 'opened', window });
  return window;
}

/** Lifts an isolation in the control plane; what it muted pages again at the next sweep. */
async function lift(ctx: ControlPlaneContext, service: string, by: string, at: number): Promise<void> {
  await ctx.control.setIsolated(service, false, by, at);
  await unmuteIncidents(ctx, [isolationWindowId(service)]);
}

function fleetServices(ctx: ControlPlaneContext, services: readonly string[] | undefined): string[] {
  if (services === undefined || services.length === 0) return ctx.config.services.map((s) => s.name);
  checkServiceNames(ctx.config, services);
  return [...services];
}

function runServiceDocument(
  ctx: ControlPlaneContext,
  document: ServiceDocumentName,
  service: string,
  force = false,
): Promise<CommandResult> {
  return ctx.commands.run({
    document,
    parameters: serviceCommandParameters(ctx.config, service, {
      document,
      stateDirectory: ctx.config.fleet.hostStateDirectory,
      force,
    }),
    timeoutMs: ctx.config.remediation.restartTimeout,
  });
}

/**
 * A fleet document for `services`, one run per consecutive services on one host (`hostRuns`): a list on one host is
 * one document, as always, and no steps. With several runs each is a step; `stopAtFailure` leaves the runs after a
 * failed one not run. The result is the first failed run's (its status, exit code and command), with every run's
 * output and a last line naming where it failed and what was not run.
 */
async function runFleetByHost(
  ctx: ControlPlaneContext,
  document: FleetDocumentName,
  services: readonly string[],
  options: { readonly stopAtFailure: boolean; readonly timeoutSeconds?: number },
): Promise<{ result: CommandResult; steps?: ProcedureStep[] }> {
  const runs = hostRuns(ctx.config, services);
  if (runs.length <= 1) return { result: await runFleetDocument(ctx, document, services, options.timeoutSeconds) };
  const steps: ProcedureStep[] = [];
  const outputs: string[] = [];
  let failed: { readonly where: string; readonly result: CommandResult } | undefined;
  let last: CommandResult | undefined;
  const notRun: string[] = [];
  for (const run of runs) {
    const name = `${document} ${run.services.join(', ')} on ${run.where}`;
    if (failed && options.stopAtFailure) {
      notRun.push(...run.services);
      steps.push({ name, status: 'not-run', durationMs: 0, detail: `not run: ${failed.where} failed first` });
      continue;
    }
    const started = ctx.clock.now();
    const result = await runFleetDocument(ctx, document, run.services, options.timeoutSeconds);
    last = result;
    outputs.push(result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`);
    steps.push({ name, status: result.status, durationMs: ctx.clock.now() - started, detail: lastLine(result.output) });
    if (result.status !== 'succeeded') failed ??= { where: run.where, result };
  }
  const chosen = failed?.result ?? last;
  const summary = failed
    ? `${document} did not succeed on ${failed.where} (${failed.result.status})${notRun.length > 0 ? `; not run for ${notRun.join(', ')}` : ''}`
    : `${document} succeeded on ${runs.length} hosts`;
  return {
    result: {
      status: failed?.result.status ?? 'succeeded',
      ...(chosen?.exitCode === undefined ? {} : { exitCode: chosen.exitCode }),
      ...(chosen?.commandId === undefined ? {} : { commandId: chosen.commandId }),
      output: `${outputs.join('')}${summary}\n`,
    },
    steps,
  };
}

/** The last non-empty line of a document's output: its reason for failing, or its summary. */
export function lastLine(output: string): string {
  return (
    output
      .trimEnd()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  );
}

function runFleetDocument(
  ctx: ControlPlaneContext,
  document: FleetDocumentName,
  services: readonly string[],
  timeoutSeconds?: number,
): Promise<CommandResult> {
  return ctx.commands.run({
    document,
    parameters: fleetCommandParameters(ctx.config, document, {
      services,
      stateDirectory: ctx.config.fleet.hostStateDirectory,
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    }),
    timeoutMs: ctx.config.remediation.restartTimeout * 2,
  });
}
