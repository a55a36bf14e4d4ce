import type { MaintenanceWindow } from './escalation.ts';
import type { NoticeKind } from './fleet-constants.ts';
import type { Incident, Notice, TimelineEntry } from './incident.ts';

/**
 * Lifecycle notices: what people hear about an incident besides the pages (issue 11). A notice is owed to every
 * channel whose config routes its kind (`events` on the channel); it is stored on its incident (or maintenance
 * window) in the same write as the change it announces, so it cannot be lost, and delivered per channel with retries.
 */
export { NOTICE_KINDS, type NoticeKind } from './fleet-constants.ts';

export type { Notice } from './incident.ts';

/** What a channel is given for a notice. */
export interface NoticeMessage {
  /** Idempotency key: `<incident or window id>/<notice key>`, the same on every retry. */
  readonly key: string;
  readonly notice: Notice;
  readonly incident?: Incident;
  readonly window?: MaintenanceWindow;
  /** The incident's timeline so far (empty for a window). */
  readonly recent: readonly TimelineEntry[];
}

/** The channels that carry notices of a kind (`Notifier.noticeChannels`). */
export type NoticeRoutes = (kind: NoticeKind) => readonly string[];

/** First retry of a channel that failed a notice; it doubles with each failed round up to NOTICE_BACKOFF_CAP_MS. */
export const NOTICE_BACKOFF_BASE_MS = 30_000;
export const NOTICE_BACKOFF_CAP_MS = 30 * 60_000;
/** Delivery rounds a channel is given for one notice before it is given up on (reported, never retried). */
export const NOTICE_MAX_ATTEMPTS = 8;

export interface NoticeTiming {
  /** @default NOTICE_BACKOFF_BASE_MS */
  readonly backoffBaseMs?: number;
  /** @default NOTICE_BACKOFF_CAP_MS */
  readonly backoffCapMs?: number;
  /** @default NOTICE_MAX_ATTEMPTS */
  readonly maxAttempts?: number;
}

/** Wait before the next round after `attempts` failed rounds: base, doubled each time, capped. */
export function noticeBackoffMs(attempts: number, timing: NoticeTiming = {}): number {
  const base = timing.backoffBaseMs ?? NOTICE_BACKOFF_BASE_MS;
  const cap = timing.backoffCapMs ?? NOTICE_BACKOFF_CAP_MS;
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(30, attempts - 1)));
}

/** What a timeline entry announces, if anything; undefined for entries nobody is told about. */
export function noticeOf(
  incident: Pick<Incident, 'kind'>,
  entry: TimelineEntry,
): Pick<Notice, 'kind' | 'by' | 'text' | 'level'> | undefined {
  // An escalation test announces its opening, acknowledgement and resolve as 'test'.
  const test = incident.kind === 'test';
  switch (entry.type) {
    case 'opened':
      return { kind: test ? 'test' : 'opened', text: entry.detail };
    case 'paged':
      // The first page is the opening, announced as 'opened'; later pages are escalations and re-pages.
      return entry.why === 'opened' ? undefined : { kind: 'escalated', level: entry.level };
    case 'acknowledged':
      return { kind: test ? 'test' : 'acknowledged', by: entry.by, ...(entry.note ? { text: entry.note } : {}) };
    case 'note':
      return entry.by === 'control-plane' ? undefined : { kind: 'update', by: entry.by, text: entry.text };
    case 'sla-breached':
      return {
        kind: 'sla-breached',
        text: `${entry.severity} not acknowledged by ${new Date(entry.dueAt).toISOString()}`,
        ...(entry.level === undefined ? {} : { level: entry.level }),
      };
    case 'resolved':
      return { kind: test ? 'test' : 'resolved', by: entry.by, text: entry.resolution };
    default:
      return undefined;
  }
}

/**
 * The incident with a Notice appended for each entry that announces something and that some channel carries
 * (`routes(kind)` non-empty): nothing changes for a config without `events`. Keys are unique within the incident:
 * `<kind>-<at>-<version>-<n>` (the version the write starts from, so two writes never mint the same key).
 */
export function withNotices(
  incident: Incident,
  entries: readonly TimelineEntry[],
  routes: NoticeRoutes,
  now: number,
): Incident {
  const added: Notice[] = [];
  for (const entry of entries) {
    const what = noticeOf(incident, entry);
    if (!what || routes(what.kind).length === 0) continue;
    added.push({
      key: `${what.kind}-${entry.at}-${incident.version}-${added.length}`,
      ...what,
      at: entry.at,
      done: [],
      attempts: 0,
      nextAt: now,
    });
  }
  return added.length === 0 ? incident : { ...incident, notices: [...(incident.notices ?? []), ...added] };
}

/** A window's notice ('maintenance-started' or 'maintenance-ended'), or nothing when no channel carries the kind. */
export function windowNotice(
  window: MaintenanceWindow,
  kind: 'maintenance-started' | 'maintenance-ended',
  at: number,
  routes: NoticeRoutes,
  by?: string,
): MaintenanceWindow {
  if (routes(kind).length === 0 || (window.notices ?? []).some((n) => n.kind === kind)) return window;
  const notice: Notice = {
    key: `${kind}-${at}`,
    kind,
    at,
    ...(by === undefined ? {} : { by }),
    done: [],
    attempts: 0,
    nextAt: at,
  };
  return { ...window, notices: [...(window.notices ?? []), notice] };
}

/** When a notice wants a deliverer: its next round, or when a deliverer's lease on it lapses. */
export function noticeDueAt(notice: Notice): number {
  return Math.max(notice.nextAt, notice.leaseUntil ?? notice.nextAt);
}

/** The earliest of the notices' due times; undefined when none is owed. */
export function noticesDueAt(notices: readonly Notice[] | undefined): number | undefined {
  let due: number | undefined;
  for (const n of notices ?? []) {
    const at = noticeDueAt(n);
    if (due === undefined || at < due) due = at;
  }
  return due;
}

/**
 * The stores' due index: when the sweep must look at the incident next. The escalation's timer or the first notice
 * still owed, whichever comes first; a resolved incident with a notice owed is due too.
 */
export function incidentDueAt(incident: Pick<Incident, 'escalation' | 'notices'>): number | undefined {
  const notices = noticesDueAt(incident.notices);
  const escalation = incident.escalation.nextAt;
  if (escalation === undefined) return notices;
  return notices === undefined ? escalation : Math.min(escalation, notices);
}

/**
 * Claims the notices due at `now` for `leaseMs`: each gets `leaseUntil` (and `nextAt`) past the delivery, so a
 * second deliverer finds nothing due and a crashed one's claim lapses. Undefined when none is due.
 */
export function claimNotices(
  notices: readonly Notice[] | undefined,
  now: number,
  leaseMs: number,
): { readonly notices: readonly Notice[]; readonly claimed: readonly Notice[] } | undefined {
  const until = now + leaseMs;
  const claimed: Notice[] = [];
  const next = (notices ?? []).map((n) => {
    if (noticeDueAt(n) > now) return n;
    const held: Notice = { ...n, nextAt: until, leaseUntil: until };
    claimed.push(held);
    return held;
  });
  return claimed.length === 0 ? undefined : { notices: next, claimed };
}

/** The channels a notice is still owed to: routed, not done, not given up on. */
export function channelsOwed(notice: Notice, routes: NoticeRoutes): string[] {
  return routes(notice.kind).filter((c) => !notice.done.includes(c) && !(notice.failed ?? []).includes(c));
}

/** How one claimed notice fared on each channel it was owed to. */
export interface NoticeRound {
  readonly key: string;
  readonly delivered: readonly string[];
  /** Channel -> the error it gave. */
  readonly errors: Readonly<Record<string, string>>;
}

export interface SettledNotices {
  readonly notices: readonly Notice[];
  /** Channels given up on in this settle, per notice (for the report: log, metric, timeline note). */
  readonly gaveUp: readonly { readonly notice: Notice; readonly channel: string; readonly error: string }[];
}

/**
 * Writes a delivery round's results over the freshest notices: delivered channels join `done` whatever happened
 * meanwhile; a notice we still hold (its lease is ours) gets its next round after the backoff when a channel failed,
 * or is dropped once every routed channel is done or given up on (after the last attempt). A channel skipped this
 * round (held back behind an earlier notice that failed on it) costs no attempt. A notice whose lease lapsed and
 * was claimed by another deliverer keeps that deliverer's claim.
 */
export function settleNotices(
  fresh: readonly Notice[] | undefined,
  rounds: readonly NoticeRound[],
  /** The lease the round was delivered under (undefined: a window's, held by `acquireLease` instead). */
  lease: number | undefined,
  routes: NoticeRoutes,
  now: number,
  timing: NoticeTiming = {},
): SettledNotices {
  const maxAttempts = timing.maxAttempts ?? NOTICE_MAX_ATTEMPTS;
  const gaveUp: { notice: Notice; channel: string; error: string }[] = [];
  const notices: Notice[] = [];
  for (const current of fresh ?? []) {
    const round = rounds.find((r) => r.key === current.key);
    if (!round) {
      notices.push(current);
      continue;
    }
    const done = [...new Set([...current.done, ...round.delivered])];
    const withDone: Notice = { ...current, done };
    if (current.leaseUntil !== lease) {
      if (channelsOwed(withDone, routes).length > 0) notices.push(withDone);
      continue;
    }
    const failedChannels = Object.keys(round.errors);
    const attempts = current.attempts + (failedChannels.length > 0 ? 1 : 0);
    const { leaseUntil: _lease, ...rest } = withDone;
    let next: Notice = { ...rest, attempts };
    if (attempts >= maxAttempts && failedChannels.length > 0) {
      const failed = [...new Set([...(current.failed ?? []), ...failedChannels])];
      next = { ...next, failed };
      for (const channel of failedChannels)
        gaveUp.push({ notice: next, channel, error: round.errors[channel] ?? 'failed' });
    }
    if (channelsOwed(next, routes).length === 0) continue;
    notices.push({ ...next, nextAt: now + noticeBackoffMs(Math.max(1, attempts), timing) });
  }
  return { notices, gaveUp };
}
