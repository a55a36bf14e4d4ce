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
import { checkWindowTiming, maintenanceWindow } from '../core/maintenance-window.ts';
import type { CommandResult } from '../ports.ts';
import { type ControlPlaneContext, isolationWindowId } from './context.ts';
import { closeMaintenanceWindow } from './maintenance.ts';
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
  readonly result: CommandResult;
  /** The maintenance window the procedure opened, as it was last written. */
  readonly window?: MaintenanceWindow;
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

/** Starts the services (isolated ones are left down by the document). */
export async function startAll(ctx: ControlPlaneContext, request: StartAllRequest = {}): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const result = await runFleetDocument(ctx, 'acgs-start-all', services, request.timeoutSeconds);
  return { services, result };
}

export interface StopAllRequest extends FleetRequest {
  readonly by: string;
  /** The maintenance window opened first, within MAINTENANCE_WINDOW_LENGTH. @default 30 minutes */
  readonly windowMs?: number;
  readonly onWindow?: WindowObserver;
}

/** Stops the services after opening a maintenance window for them (for the whole fleet when none are named). */
export async function stopAll(ctx: ControlPlaneContext, request: StopAllRequest): Promise<ProcedureRun> {
  const services = fleetServices(ctx, request.services);
  const subjects = request.services === undefined || request.services.length === 0 ? ['*'] : services;
  const window = await openStopWindow(ctx, subjects, 'stop-all', request);
  const result = await runFleetDocument(ctx, 'acgs-stop-all', services);
  return { services, result, window };
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
  const window = maintenanceWindow(
    {
      subjects: services,
      lengthMs: rolloutMs,
      reason: `acgs-ops service rolling-update by ${request.by}`,
      by: request.by,
    },
    ctx.clock.now(),
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
  const window = maintenanceWindow(
    { subjects, lengthMs, reason: `acgs-ops service ${procedure} by ${request.by}`, by: request.by },
    ctx.clock.now(),
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
