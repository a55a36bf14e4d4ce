import type { Contact, FleetConfig, Severity } from './config-schema.ts';
import { DAY_MS, type DurationBounds, formatDuration, MINUTE_MS } from './duration.ts';
import { testVerdict } from './escalation-test.ts';
import type { EscalationPolicy, Incident, IncidentKind, Notice, PageReason, TimelineEntry } from './incident.ts';

/**
 * Escalation as data. The policy is frozen onto the incident when it opens (a config change never rewrites the
 * rules of an incident in flight), and the only timer is `nextAt` on the incident, which a sweep reads: a restart
 * of anything loses no timer.
 *
 * - open, unacknowledged past the current level's response time -> page the next level that serves the severity,
 *   or re-page the top level every `repeatEvery`;
 * - acknowledged -> escalation stops until the ack times out; then, if the incident is still open, it re-pages;
 * - resolved -> nothing more;
 * - a maintenance window covering every subject of the incident defers any page to the window's end (detection and
 *   the incident itself are not muted);
 * - the response SLA (`slaDueAt`) passing with nobody having acknowledged is recorded once on the timeline
 *   (`sla-breached`) and escalates per the matrix: the level after the severity's first page (the first one above
 *   `firstPage.throughLevel` serving the severity) is paged at once, unless it has been paged already (by the
 *   breaker, or because the first page reaches every level) or no such level exists; then the breach is recorded and
 *   the escalation keeps its own timer. Until then `nextAt` is never later than `slaDueAt` (the step's own time
 *   waits in `stepAt`), so the sweep comes at the due time. A severity raised before the breach brings the due time
 *   in; one raised after it keeps the due time already missed (`applyReport`), so an incident records one breach per
 *   due time, in practice one. While a maintenance window mutes the incident the breach waits for the window's end;
 *   if the first page was still owed then, it goes out and nobody above it is paged for a response time nobody was
 *   asked to meet;
 * - a `test` incident (`core/escalation-test.ts`) never escalates: at its deadline, or once acknowledged, the sweep
 *   closes it as failed or passed.
 *
 * The policy and the state are types of the incident (`core/incident.ts`), which carries them.
 */

export interface Page {
  readonly incidentId: string;
  readonly severity: Severity;
  readonly level: number;
  readonly levelName: string;
  readonly contacts: readonly Contact[];
  readonly why: PageReason;
  readonly at: number;
}

export interface MaintenanceWindow {
  readonly id: string;
  /** Service or check names covered; `*` covers the whole fleet. */
  readonly subjects: readonly string[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly reason: string;
  readonly createdBy: string;
  /** Its started / ended notices still owed to some channel (`core/notices.ts`). */
  readonly notices?: readonly Notice[];
}

/**
 * How long an operator may open a maintenance window for: a minute up to a week. A window mutes paging and
 * restarts, so one longer than a week is forgotten rather than maintenance; open a new one when the work goes on.
 */
export const MAINTENANCE_WINDOW_LENGTH: DurationBounds = { min: MINUTE_MS, max: 7 * DAY_MS };
/** How far ahead a window may be scheduled to start: up to 30 days. */
export const MAINTENANCE_WINDOW_DELAY: DurationBounds = { min: 0, max: 30 * DAY_MS };

export interface EscalationOutcome {
  readonly incident: Incident;
  readonly pages: readonly Page[];
  readonly timeline: readonly TimelineEntry[];
}

/** What identifies a page within a step, for `delivered`: the level and the reason. */
export function pageKey(page: Pick<Page, 'level' | 'why'>): string {
  return `${page.level}:${page.why}`;
}

/** The outcome without the pages already delivered (`delivered`), when a step is redone after a crash. */
export function withoutDelivered(outcome: EscalationOutcome, delivered: readonly string[]): EscalationOutcome {
  if (delivered.length === 0) return outcome;
  const pages = outcome.pages.filter((p) => !delivered.includes(pageKey(p)));
  const { escalation } = outcome.incident;
  return {
    // Delivered pages were counted as they went out.
    incident: {
      ...outcome.incident,
      escalation: { ...escalation, pages: escalation.pages - (outcome.pages.length - pages.length) },
    },
    pages,
    timeline: outcome.timeline.filter((e) => e.type !== 'paged' || !delivered.includes(pageKey(e))),
  };
}

/**
 * The rules an incident of `kind` opens with. A kind a level names in `immediateFor` (security) has its first page
 * go through that level at once: the runbook's Executive level is told of a security incident immediately, not
 * after the levels below it let their response times run out.
 */
export function freezePolicy(config: FleetConfig, kind?: IncidentKind): EscalationPolicy {
  const { levels, firstPage, repeatEvery } = config.escalation;
  const sev = config.severities;
  const immediate = Math.max(
    0,
    ...levels.filter((l) => kind !== undefined && immediateFor(l, kind)).map((l) => l.level),
  );
  const through = (plan: EscalationPolicy['firstPage'][Severity]) =>
    immediate > plan.throughLevel ? { ...plan, throughLevel: immediate } : plan;
  return {
    levels: levels.map((l) => ({ level: l.level, name: l.name, responseTime: l.responseTime, contacts: l.contacts })),
    firstPage: { P1: through(firstPage.P1), P2: through(firstPage.P2), P3: through(firstPage.P3) },
    repeatEvery,
    ackTimeout: { P1: sev.P1.ackTimeout, P2: sev.P2.ackTimeout, P3: sev.P3.ackTimeout },
    responseTime: { P1: sev.P1.responseTime, P2: sev.P2.responseTime, P3: sev.P3.responseTime },
  };
}

function immediateFor(level: FleetConfig['escalation']['levels'][number], kind: IncidentKind): boolean {
  return (level.immediateFor as readonly string[] | undefined)?.includes(kind) ?? false;
}

/**
 * Subjects an incident is about, for maintenance windows: a down dependency is about the dependency itself (work on
 * the database mutes the outage it causes); anything else is about its services, or its targets' names if it has
 * no services.
 */
export function incidentSubjects(incident: Pick<Incident, 'services' | 'targets' | 'kind' | 'dedupKey'>): string[] {
  if (incident.kind === 'dependency-down') return [nameOf(incident.dedupKey)];
  if (incident.services.length > 0) return [...incident.services];
  return incident.targets.map(nameOf);
}

function nameOf(targetId: string): string {
  return targetId.split(':')[0] ?? targetId;
}

/** The maintenance window that mutes this incident now, if every one of its subjects is covered by one. */
export function mutingWindow(
  incident: Pick<Incident, 'services' | 'targets' | 'kind' | 'dedupKey'>,
  windows: readonly MaintenanceWindow[],
  now: number,
): MaintenanceWindow | undefined {
  // A security incident is never muted: its services are isolated on purpose (which mutes their outages), and no
  // maintenance makes a breach something the people it pages may hear of later.
  if (incident.kind === 'security') return undefined;
  const active = windows.filter((w) => w.startsAt <= now && now < w.endsAt);
  if (active.length === 0) return undefined;
  const subjects = incidentSubjects(incident);
  const covering = (s: string) => active.find((w) => w.subjects.includes('*') || w.subjects.includes(s));
  const found = subjects.map(covering);
  if (found.length === 0 || found.some((w) => w === undefined)) return undefined;
  // The incident is muted until the earliest of the covering windows ends.
  return found.reduce((a, b) => (b !== undefined && a !== undefined && b.endsAt < a.endsAt ? b : a));
}

/**
 * What the escalation step does for one incident at `now`; undefined when nothing is due. The caller delivers
 * the pages first and then writes the incident (conditionally): a crash in between repeats a page, never loses one.
 */
export function sweepEscalation(
  incident: Incident,
  now: number,
  windows: readonly MaintenanceWindow[],
): EscalationOutcome | undefined {
  const { nextAt } = incident.escalation;
  if (incident.status === 'resolved') {
    return nextAt === undefined ? undefined : { incident: withNextAt(incident, undefined), pages: [], timeline: [] };
  }
  if (nextAt === undefined || nextAt > now) return undefined;
  if (incident.kind === 'test') return closeTest(incident, now);
  const muted = mutingWindow(incident, windows, now);
  if (muted) return mute(incident, muted, now);
  if (slaBreachDue(incident, now)) return breachSla(incident, now);
  return nextStep(incident, now);
}

/** The step the escalation's own timer is due for: first page, ack expiry, next level or repeat. */
function nextStep(incident: Incident, now: number): EscalationOutcome {
  const { level, pending } = incident.escalation;
  // A page deferred by maintenance is delivered here too, once the window has ended.
  if (pending !== undefined || level === 0) return firstPage(incident, now, pending ?? 'opened');
  if (incident.status === 'acknowledged') {
    const reopened: Incident = { ...incident, status: 'open' };
    const outcome = repage(reopened, now, 'ack-expired');
    return { ...outcome, timeline: [{ at: now, type: 'ack-expired' }, ...outcome.timeline] };
  }
  return escalate(incident, now, 'escalated');
}

/** Whether the response SLA has passed with no acknowledgement, and this due time's breach is not on record yet. */
export function slaBreachDue(incident: Incident, now: number): boolean {
  return slaPending(incident) && now >= incident.slaDueAt;
}

/** The SLA may still be breached: open, never acknowledged, its due time not recorded as breached. */
function slaPending(incident: Incident): boolean {
  return (
    incident.kind !== 'test' &&
    incident.status !== 'resolved' &&
    incident.acknowledgedAt === undefined &&
    incident.slaBreached !== incident.slaDueAt
  );
}

/**
 * The breach: on record once (`slaBreached`), and escalated at once per the matrix. A first page still owed (the
 * incident was muted past its due time) goes out alone; else the level after the first page (`breachLevel`) is paged
 * unless it has been already, and then the escalation's own timer (`stepAt`) stands.
 */
function breachSla(incident: Incident, now: number): EscalationOutcome {
  const { stepAt, ...escalation } = incident.escalation;
  const marked: Incident = {
    ...incident,
    slaBreached: incident.slaDueAt,
    escalation: stepAt === undefined ? escalation : { ...escalation, nextAt: stepAt },
  };
  const { policy, pending, level: current } = incident.escalation;
  const target = breachLevel(policy, incident.severity);
  let outcome: EscalationOutcome;
  if (pending !== undefined || current === 0) outcome = firstPage(marked, now, pending ?? 'opened');
  else if (target !== undefined && current < target) outcome = escalate(marked, now, 'sla-breached');
  else {
    // Nothing to page for the breach: the escalation's own step, if it is due as well, goes with it.
    const due = marked.escalation.nextAt;
    outcome = due !== undefined && due <= now ? nextStep(marked, now) : { incident: marked, pages: [], timeline: [] };
  }
  const level = Math.max(0, ...outcome.pages.filter((p) => p.why === 'sla-breached').map((p) => p.level));
  const entry: TimelineEntry = {
    at: now,
    type: 'sla-breached',
    severity: incident.severity,
    dueAt: incident.slaDueAt,
    ...(level > 0 ? { level } : {}),
  };
  return { ...outcome, timeline: [entry, ...outcome.timeline] };
}

/** The level an SLA breach pages: the first above the severity's first page that serves the severity. */
function breachLevel(policy: EscalationPolicy, severity: Severity): number | undefined {
  const through = policy.firstPage[severity].throughLevel;
  return policy.levels.find((l) => l.level > through && l.responseTime[severity] !== undefined)?.level;
}

/** A test incident at its deadline, or acknowledged: closed as passed or failed; never escalated, never muted. */
function closeTest(incident: Incident, now: number): EscalationOutcome | undefined {
  const verdict = testVerdict(incident, now);
  return verdict && resolve(incident, 'control-plane', verdict.resolution, now);
}

/** Pages as the runbook says for the incident's severity (P3 primary; P2 primary + secondary; P1 all teams). */
function firstPage(incident: Incident, now: number, why: PageReason): EscalationOutcome {
  const { policy } = incident.escalation;
  const plan = policy.firstPage[incident.severity];
  const pages: Page[] = [];
  for (const level of policy.levels.slice(0, plan.throughLevel)) {
    const contacts = level.contacts.filter((c) => plan.roles.includes(c.role));
    if (contacts.length > 0) pages.push(page(incident, level, contacts, why, now));
  }
  const level = Math.max(incident.escalation.level, plan.throughLevel);
  const reopened: Incident = incident.status === 'acknowledged' ? { ...incident, status: 'open' } : incident;
  return withPages(reopened, pages, level, now + waitAt(policy, level, incident.severity), now);
}

/**
 * Moves to the next level now (the level's time ran out, or the restart breaker tripped), or re-pages the top
 * level. A first page still owed is delivered first, so jumping ahead never skips the people it was owed to. On an
 * acknowledged incident the acknowledgement and its timer stand: the next level is told, nobody is re-paged early.
 */
export function escalate(incident: Incident, now: number, why: PageReason): EscalationOutcome {
  const { pending } = incident.escalation;
  if (pending !== undefined) {
    const first = firstPage(incident, now, pending);
    const then = escalate(first.incident, now, why);
    return {
      incident: then.incident,
      pages: [...first.pages, ...then.pages],
      timeline: [...first.timeline, ...then.timeline],
    };
  }
  const { policy, level } = incident.escalation;
  const next = policy.levels.find((l) => l.level > level && l.responseTime[incident.severity] !== undefined);
  if (!next) return repage(incident, now, why === 'escalated' ? 'repeated' : why);
  const nextAt =
    incident.status === 'acknowledged' && incident.escalation.nextAt !== undefined
      ? incident.escalation.nextAt
      : now + waitAt(policy, next.level, incident.severity);
  return withPages(incident, [page(incident, next, next.contacts, why, now)], next.level, nextAt, now);
}

export function acknowledge(incident: Incident, by: string, now: number, note?: string): EscalationOutcome {
  const { policy } = incident.escalation;
  const acked: Incident = {
    ...incident,
    status: 'acknowledged',
    acknowledgedAt: incident.acknowledgedAt ?? now,
    acknowledgedBy: by,
  };
  return {
    // A test is done once acknowledged: the sweep (or the waiting CLI) closes it as passed.
    incident: withNextAt(acked, incident.kind === 'test' ? now : now + policy.ackTimeout[incident.severity]),
    pages: [],
    timeline: [{ at: now, type: 'acknowledged', by, ...(note === undefined ? {} : { note }) }],
  };
}

export function resolve(incident: Incident, by: string, resolution: string, now: number): EscalationOutcome {
  const resolved: Incident = { ...incident, status: 'resolved', resolvedAt: now, resolvedBy: by, resolution };
  return {
    incident: withNextAt(resolved, undefined),
    pages: [],
    timeline: [{ at: now, type: 'resolved', by, resolution }],
  };
}

/**
 * Pages the current level again: after an expired acknowledgement (the level gets its response time again), or
 * because there is no higher level for the severity (then every `repeatEvery`). Levels inside the severity's first
 * page keep its roles: a P3 ack expiring re-pages the primary, not the secondary.
 */
function repage(incident: Incident, now: number, why: PageReason): EscalationOutcome {
  const { policy, level } = incident.escalation;
  const current = policy.levels[level - 1];
  const plan = policy.firstPage[incident.severity];
  const contacts = current?.contacts.filter((c) => level > plan.throughLevel || plan.roles.includes(c.role)) ?? [];
  const pages = current && contacts.length > 0 ? [page(incident, current, contacts, why, now)] : [];
  const wait = why === 'ack-expired' ? waitAt(policy, level, incident.severity) : policy.repeatEvery;
  // An acknowledgement keeps its own timer: a re-page for another reason (the breaker) must not cut it short.
  const ackExpiry = incident.status === 'acknowledged' ? incident.escalation.nextAt : undefined;
  return withPages(incident, pages, level, Math.max(now + wait, ackExpiry ?? 0), now);
}

/** How long a level has to respond to a page: its response time for the severity, or `repeatEvery`. */
function waitAt(policy: EscalationPolicy, level: number, severity: Severity): number {
  return policy.levels[level - 1]?.responseTime[severity] ?? policy.repeatEvery;
}

function mute(incident: Incident, window: MaintenanceWindow, now: number): EscalationOutcome {
  const { escalation } = incident;
  const again = escalation.mutedBy === window.id;
  return {
    incident: { ...incident, escalation: { ...escalation, nextAt: window.endsAt, mutedBy: window.id } },
    pages: [],
    timeline: again ? [] : [{ at: now, type: 'page-muted', until: window.endsAt, window: window.id }],
  };
}

/**
 * A window ended early (maintenance ended, a service released from isolation): an incident it muted takes its
 * owed step now instead of at the window's planned end. Undefined when the incident was not muted by them.
 */
export function unmute(incident: Incident, windowIds: ReadonlySet<string>, now: number): Incident | undefined {
  const { mutedBy, ...rest } = incident.escalation;
  if (incident.status === 'resolved' || mutedBy === undefined || !windowIds.has(mutedBy)) return undefined;
  return { ...incident, escalation: { ...rest, nextAt: now } };
}

function page(
  incident: Incident,
  level: EscalationPolicy['levels'][number],
  contacts: readonly Contact[],
  why: PageReason,
  at: number,
): Page {
  return {
    incidentId: incident.id,
    severity: incident.severity,
    level: level.level,
    levelName: level.name,
    contacts,
    why,
    at,
  };
}

function withPages(
  incident: Incident,
  pages: readonly Page[],
  level: number,
  nextAt: number,
  now: number,
): EscalationOutcome {
  // Until the SLA is met or its breach is on record, the sweep must come by the due time at the latest.
  const early = slaPending(incident) && incident.slaDueAt < nextAt;
  const updated: Incident = {
    ...incident,
    escalation: {
      policy: incident.escalation.policy,
      level,
      nextAt: early ? incident.slaDueAt : nextAt,
      ...(early ? { stepAt: nextAt } : {}),
      pages: incident.escalation.pages + pages.length,
    },
  };
  return {
    incident: updated,
    pages,
    timeline: pages.map((p) => ({
      at: now,
      type: 'paged' as const,
      level: p.level,
      levelName: p.levelName,
      contacts: p.contacts.map((c) => c.name),
      why: p.why,
    })),
  };
}

function withNextAt(incident: Incident, nextAt: number | undefined): Incident {
  const { nextAt: _dropped, ...rest } = incident.escalation;
  return { ...incident, escalation: nextAt === undefined ? rest : { ...rest, nextAt } };
}

export function describeNextStep(incident: Incident, now: number): string {
  const { nextAt, level, policy, pending } = incident.escalation;
  if (nextAt === undefined) return 'none';
  const wait = formatDuration(Math.max(0, nextAt - now));
  if (incident.kind === 'test')
    return incident.status === 'acknowledged'
      ? 'escalation test acknowledged: closes as passed at the next sweep'
      : `escalation test: fails unless acknowledged within ${wait}`;
  if (incident.escalation.stepAt !== undefined && slaPending(incident) && pending === undefined && level > 0) {
    const target = breachLevel(policy, incident.severity);
    const name = policy.levels.find((l) => l.level === target)?.name;
    return target !== undefined && level < target
      ? `escalates to level ${target} (${name}) in ${wait}, when the response SLA is breached`
      : `response SLA breached in ${wait}`;
  }
  if (pending !== undefined || level === 0) {
    const through = policy.firstPage[incident.severity].throughLevel;
    return `first page to levels 1-${through} due in ${wait}`;
  }
  if (incident.status === 'acknowledged') return `ack expires in ${wait}`;
  const next = policy.levels.find((l) => l.level > level && l.responseTime[incident.severity] !== undefined);
  return next ? `escalates to level ${next.level} (${next.name}) in ${wait}` : `re-pages level ${level} in ${wait}`;
}
