import { errorMessage } from '../core/errors.ts';
import type { Incident, Notice, TimelineEntry } from '../core/incident.ts';
import {
  channelsOwed,
  claimNotices,
  type NoticeRound,
  type NoticeRoutes,
  type NoticeTiming,
  noticeDueAt,
  settleNotices,
} from '../core/notices.ts';
import type { ControlPlaneContext } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** Lease time on top of the delivery bound: the claim and settle writes, a busy event loop. */
export const NOTICE_LEASE_MARGIN_MS = 5_000;
/** How far back ended maintenance windows are looked at for a 'maintenance-ended' notice still owed. */
export const WINDOW_NOTICE_HORIZON_MS = 24 * 60 * 60_000;

/** What one delivery pass did, for the caller's log and metrics. */
export interface NoticeDeliveryReport {
  /** Notice deliveries that went out (one per notice and channel). */
  delivered: number;
  /** Deliveries that failed (retried later, or given up on). */
  failed: number;
  /** Channels given up on for a notice after the last attempt. */
  gaveUp: number;
}

export interface DeliverNoticesOptions {
  /** Called once per failed delivery (the AWS handlers count it as a metric; the log line is written anyway). */
  readonly onFailure?: (failure: { channel: string; key: string; kind: string; gaveUp: boolean }) => void;
}

export function noticeTiming(ctx: ControlPlaneContext): NoticeTiming {
  const retry = ctx.config.notifications.noticeRetry;
  return retry ? { backoffBaseMs: retry.backoff, backoffCapMs: retry.maxBackoff, maxAttempts: retry.attempts } : {};
}

const emptyReport = (): NoticeDeliveryReport => ({ delivered: 0, failed: 0, gaveUp: 0 });

function add(into: NoticeDeliveryReport, more: NoticeDeliveryReport): NoticeDeliveryReport {
  into.delivered += more.delivered;
  into.failed += more.failed;
  into.gaveUp += more.gaveUp;
  return into;
}

/** Delivers every lifecycle notice due now: the daemon runs it after each probe cycle and sweep. */
export async function deliverNotices(
  ctx: ControlPlaneContext,
  options: DeliverNoticesOptions = {},
): Promise<NoticeDeliveryReport> {
  return deliverDueNotices(ctx, await ctx.incidents.listIncidentsDue(ctx.clock.now()), options);
}

/**
 * Delivers the lifecycle notices due on `incidents` (the sweep passes every incident `listIncidentsDue` returns,
 * resolved ones included) and on maintenance windows. One incident's failure never stops the others.
 */
export async function deliverDueNotices(
  ctx: ControlPlaneContext,
  incidents: readonly Incident[],
  options: DeliverNoticesOptions = {},
): Promise<NoticeDeliveryReport> {
  const report = emptyReport();
  const now = ctx.clock.now();
  for (const incident of incidents) {
    if (!(incident.notices ?? []).some((n) => noticeDueAt(n) <= now)) continue;
    try {
      add(report, await deliverIncidentNotices(ctx, incident, options));
    } catch (error) {
      ctx.log('notice-delivery-failed', { incidentId: incident.id, error: errorMessage(error) });
    }
  }
  try {
    add(report, await deliverWindowNotices(ctx, options));
  } catch (error) {
    ctx.log('notice-delivery-failed', { windows: true, error: errorMessage(error) });
  }
  return report;
}

/**
 * One incident's due notices, exactly once per channel even when several deliverers race (lease, deliver, settle,
 * like `advance-escalation.ts`):
 *  1. claim: a conditional incident write puts a lease (`leaseUntil`, `nextAt`) on every due notice; a deliverer
 *     finding none due does nothing;
 *  2. deliver each notice to each channel it is still owed to, channels side by side, each channel's notices in
 *     order (a channel that fails one gets none of the later ones this round: a resolve never overtakes its
 *     trigger); the idempotency key `<incident id>/<notice key>` is the same on every retry, and each channel is
 *     recorded as done the moment it answered (`recordDone`);
 *  3. settle over whatever changed meanwhile: delivered channels join `done`; a failed channel is retried after a
 *     backoff and given up on after the last attempt (a `notice-failed` log line each time, and a timeline note by
 *     'control-plane' when given up). A crash between 1 and 3 leaves the lease to lapse and the notice to be sent
 *     again with the same key to the channels not recorded as done: the one in flight may see it twice (PagerDuty's
 *     dedup_key and a webhook's Idempotency-Key absorb it; Slack and Teams show it twice), none loses it.
 */
export async function deliverIncidentNotices(
  ctx: ControlPlaneContext,
  incident: Incident,
  options: DeliverNoticesOptions = {},
): Promise<NoticeDeliveryReport> {
  const routes: NoticeRoutes = (kind) => ctx.notifier.noticeChannels(kind);
  const timing = noticeTiming(ctx);
  let claimed: readonly Notice[] = [];
  const held = await updateIncidentWithRetry(ctx, incident, (current) => {
    claimed = [];
    const now = ctx.clock.now();
    const leaseMs = leaseFor(ctx, current.notices, now, routes);
    const claim = claimNotices(current.notices, now, leaseMs);
    if (!claim) return undefined;
    claimed = claim.claimed;
    return { incident: { ...current, notices: claim.notices }, timeline: [] };
  });
  if (!held || claimed.length === 0) return emptyReport();
  const lease = claimed[0]?.leaseUntil ?? 0;
  const recent = await ctx.incidents.getTimeline(held.id);
  const rounds = await sendRound(
    ctx,
    claimed,
    routes,
    (notice) => ({ key: `${held.id}/${notice.key}`, notice, incident: held, recent }),
    (notice, channel) => recordDone(ctx, held.id, notice.key, channel),
  );

  let gaveUp: ReturnType<typeof settleNotices>['gaveUp'] = [];
  await updateIncidentWithRetry(ctx, held.id, (fresh) => {
    const now = ctx.clock.now();
    const settled = settleNotices(fresh.notices, rounds, lease, routes, now, timing);
    gaveUp = settled.gaveUp;
    const { notices: _owed, ...rest } = fresh;
    const timeline: TimelineEntry[] = settled.gaveUp.map((g) => ({
      at: now,
      type: 'note',
      by: 'control-plane',
      text: `${g.notice.kind} notice not delivered to channel ${g.channel} after ${g.notice.attempts} attempts: ${g.error}`,
    }));
    return {
      incident: settled.notices.length > 0 ? { ...rest, notices: settled.notices } : rest,
      timeline,
    };
  });
  return reportRound(ctx, rounds, claimed, gaveUp, { incidentId: held.id }, options);
}

/**
 * The started / ended notices of maintenance windows (stored on the window), under a lease per window
 * (`ctx.control.acquireLease`) so two deliverers do not both send; the window is re-read before its notices are
 * written back, so a window ended meanwhile keeps its new end.
 */
export async function deliverWindowNotices(
  ctx: ControlPlaneContext,
  options: DeliverNoticesOptions = {},
): Promise<NoticeDeliveryReport> {
  const routes: NoticeRoutes = (kind) => ctx.notifier.noticeChannels(kind);
  const timing = noticeTiming(ctx);
  const now = ctx.clock.now();
  const report = emptyReport();
  const windows = await ctx.control.listMaintenanceWindows(now - WINDOW_NOTICE_HORIZON_MS);
  for (const window of windows) {
    const due = (window.notices ?? []).filter((n) => noticeDueAt(n) <= now);
    if (due.length === 0) continue;
    const name = `notices:${window.id}`;
    const holder = `deliver-notices:${globalThis.crypto.randomUUID()}`;
    const until = now + leaseFor(ctx, window.notices, now, routes);
    const claim = await ctx.control.acquireLease(name, holder, now, until);
    if (!claim.acquired) continue;
    try {
      const rounds = await sendRound(ctx, due, routes, (notice) => ({
        key: `${window.id}/${notice.key}`,
        notice,
        window,
        recent: [],
      }));
      const fresh =
        (await ctx.control.listMaintenanceWindows(now - WINDOW_NOTICE_HORIZON_MS)).find((w) => w.id === window.id) ??
        window;
      const settled = settleNotices(fresh.notices, rounds, undefined, routes, ctx.clock.now(), timing);
      const { notices: _owed, ...rest } = fresh;
      await ctx.control.putMaintenanceWindow(settled.notices.length > 0 ? { ...rest, notices: settled.notices } : rest);
      add(report, reportRound(ctx, rounds, due, settled.gaveUp, { windowId: window.id }, options));
    } finally {
      await ctx.control.releaseLease(name, holder);
    }
  }
  return report;
}

/** Long enough for every owed channel to take every due notice, one after the other, within its timeout. */
function leaseFor(
  ctx: ControlPlaneContext,
  notices: readonly Notice[] | undefined,
  now: number,
  routes: NoticeRoutes,
): number {
  const due = (notices ?? []).filter((n) => noticeDueAt(n) <= now);
  const sends = due.reduce((sum, n) => sum + Math.max(1, channelsOwed(n, routes).length), 0);
  return Math.max(1, sends) * ctx.notifier.deliveryTimeoutMs + NOTICE_LEASE_MARGIN_MS;
}

/**
 * Records one channel as done with one notice the moment it answered, without touching the lease: a deliverer that
 * crashes before its settle then resends the notice only to the channels that had not answered (those in flight),
 * not to every channel of the round. Slack and Teams cannot deduplicate, so this is what keeps a crash to at most one
 * repeat, on the channel that was in flight. A failed write is logged and left to the settle.
 */
async function recordDone(ctx: ControlPlaneContext, incidentId: string, key: string, channel: string): Promise<void> {
  try {
    await updateIncidentWithRetry(ctx, incidentId, (fresh) => {
      const notice = fresh.notices?.find((n) => n.key === key);
      if (!notice || notice.done.includes(channel)) return undefined;
      const notices = (fresh.notices ?? []).map((n) => (n.key === key ? { ...n, done: [...n.done, channel] } : n));
      return { incident: { ...fresh, notices }, timeline: [] };
    });
  } catch (error) {
    ctx.log('notice-record-failed', { incidentId, notice: key, channel, error: errorMessage(error) });
  }
}

/** Sends the claimed notices: channels side by side, each channel's notices in order, stopping at its first failure. */
async function sendRound(
  ctx: ControlPlaneContext,
  notices: readonly Notice[],
  routes: NoticeRoutes,
  messageOf: (notice: Notice) => Parameters<ControlPlaneContext['notifier']['sendNotice']>[1],
  onDelivered?: (notice: Notice, channel: string) => Promise<void>,
): Promise<NoticeRound[]> {
  const delivered = new Map<string, string[]>();
  const errors = new Map<string, Record<string, string>>();
  const channels = [...new Set(notices.flatMap((n) => channelsOwed(n, routes)))];
  await Promise.all(
    channels.map(async (channel) => {
      for (const notice of notices) {
        if (!channelsOwed(notice, routes).includes(channel)) continue;
        try {
          await ctx.notifier.sendNotice(channel, messageOf(notice));
        } catch (error) {
          errors.set(notice.key, { ...(errors.get(notice.key) ?? {}), [channel]: errorMessage(error) });
          // Later notices wait for this one on this channel: order matters (a resolve before its trigger).
          return;
        }
        delivered.set(notice.key, [...(delivered.get(notice.key) ?? []), channel]);
        await onDelivered?.(notice, channel);
      }
    }),
  );
  return notices.map((n) => ({ key: n.key, delivered: delivered.get(n.key) ?? [], errors: errors.get(n.key) ?? {} }));
}

function reportRound(
  ctx: ControlPlaneContext,
  rounds: readonly NoticeRound[],
  claimed: readonly Notice[],
  gaveUp: ReturnType<typeof settleNotices>['gaveUp'],
  subject: Record<string, string>,
  options: DeliverNoticesOptions,
): NoticeDeliveryReport {
  const report = emptyReport();
  for (const round of rounds) {
    report.delivered += round.delivered.length;
    const notice = claimed.find((n) => n.key === round.key);
    for (const [channel, error] of Object.entries(round.errors)) {
      report.failed++;
      const given = gaveUp.some((g) => g.notice.key === round.key && g.channel === channel);
      ctx.log('notice-failed', {
        ...subject,
        channel,
        notice: round.key,
        kind: notice?.kind,
        attempt: (notice?.attempts ?? 0) + 1,
        gaveUp: given,
        error,
      });
      options.onFailure?.({ channel, key: round.key, kind: notice?.kind ?? '?', gaveUp: given });
    }
  }
  report.gaveUp = gaveUp.length;
  return report;
}
