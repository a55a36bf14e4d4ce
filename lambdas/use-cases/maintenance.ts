import { UsageError } from '../core/errors.ts';
import type { MaintenanceWindow } from '../core/escalation.ts';
import type { Incident, Notice } from '../core/incident.ts';
import { checkWindowTiming, endedWindow, maintenanceWindow } from '../core/maintenance-window.ts';
import { type NoticeRoutes, windowNotice } from '../core/notices.ts';
import { checkInput, incidentReason } from '../core/operator-input.ts';
import type { ControlPlaneContext } from './context.ts';
import { unmuteIncidents } from './unmute.ts';

export interface MaintenanceRequest {
  /** Services or checks covered (e.g. postgresql). @default ['*'], the whole fleet */
  readonly subjects?: readonly string[];
  readonly lengthMs: number;
  /** Start this long from now. @default 0 */
  readonly delayMs?: number;
  readonly reason: string;
  readonly by: string;
}

/**
 * Opens a maintenance window: paging and automatic restarts are muted for what it covers, detection goes on.
 * @throws UsageError for an unknown subject, a length or start out of bounds, or a reason that is empty or not text.
 */
export async function openMaintenanceWindow(
  ctx: ControlPlaneContext,
  request: MaintenanceRequest,
): Promise<MaintenanceWindow> {
  const subjects = request.subjects ?? ['*'];
  checkMaintenanceSubjects(ctx.config, subjects);
  checkWindowTiming(request);
  const reason = checkInput(incidentReason, request.reason, 'reason');
  const window = withWindowNotices(ctx, maintenanceWindow({ ...request, subjects, reason }, ctx.clock.now()));
  await ctx.control.putMaintenanceWindow(window);
  return window;
}

/**
 * What a window may cover: `*`, or the names of the fleet's services and checks.
 * @throws UsageError naming the unknown ones.
 */
export function checkMaintenanceSubjects(config: ControlPlaneContext['config'], subjects: readonly string[]): void {
  const names = new Set([...config.services.map((s) => s.name), ...config.checks.map((c) => c.name)]);
  const unknown = subjects.filter((s) => s !== '*' && !names.has(s));
  if (unknown.length > 0) throw new UsageError(`unknown service or check: ${unknown.join(', ')}`);
  if (subjects.length === 0) throw new UsageError('a maintenance window covers at least one service or check');
}

export interface EndedMaintenance {
  readonly window: MaintenanceWindow;
  /** Incidents it muted: they take their owed step at the next sweep. */
  readonly unmuted: readonly Incident[];
}

/**
 * Ends a current or future window now and unmutes the incidents it muted.
 * @throws UsageError when no current or future window has this id.
 */
export async function endMaintenanceWindow(ctx: ControlPlaneContext, id: string): Promise<EndedMaintenance> {
  const now = ctx.clock.now();
  const window = (await ctx.control.listMaintenanceWindows(now)).find((w) => w.id === id);
  if (!window) throw new UsageError(`no current or future maintenance window ${id}`);
  return closeMaintenanceWindow(ctx, window);
}

/** Ends `window` now, whatever its planned end, and unmutes the incidents it muted. */
export async function closeMaintenanceWindow(
  ctx: ControlPlaneContext,
  window: MaintenanceWindow,
): Promise<EndedMaintenance> {
  const now = ctx.clock.now();
  const ended = endedEarly(ctx, endedWindow(window, now), now);
  await ctx.control.putMaintenanceWindow(ended);
  return { window: ended, unmuted: await unmuteIncidents(ctx, [window.id]) };
}

const routesOf =
  (ctx: ControlPlaneContext): NoticeRoutes =>
  (kind) =>
    ctx.notifier.noticeChannels(kind);

/**
 * A new window owes 'maintenance-started' at its start (now, or when a scheduled one starts) and
 * 'maintenance-ended' at its planned end, both stored on it now and due then, when some channel carries them.
 * Procedures that open a window (stop, stop-all, restart-all, rolling update, restore) announce it the same way.
 */
export function withWindowNotices(ctx: ControlPlaneContext, window: MaintenanceWindow): MaintenanceWindow {
  const routes = routesOf(ctx);
  const started = windowNotice(window, 'maintenance-started', window.startsAt, routes, window.createdBy);
  return windowNotice(started, 'maintenance-ended', window.endsAt, routes);
}

/**
 * The window ended at `now`, before its planned end: an announced window's 'maintenance-ended' is due now (the one
 * planned for its end, not yet sent, is replaced). A window ended before it started announces nothing: its notices
 * not yet sent are dropped. Windows nobody announced (no channel carried the kinds then) stay unannounced.
 */
function endedEarly(ctx: ControlPlaneContext, window: MaintenanceWindow, now: number): MaintenanceWindow {
  const { notices = [], ...rest } = window;
  const sent = (n: Notice) => n.done.length > 0 || (n.failed ?? []).length > 0;
  const cancelled = window.startsAt >= now;
  const kept = notices.filter((n) => (cancelled ? sent(n) : n.kind !== 'maintenance-ended' || sent(n)));
  const base = kept.length > 0 ? { ...rest, notices: kept } : rest;
  // Announced windows owe their planned end notice (the started one may have gone out already).
  if (cancelled || notices.length === 0) return base;
  return windowNotice(base, 'maintenance-ended', now, routesOf(ctx));
}
