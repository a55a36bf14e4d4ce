import type { FleetConfig, Severity } from './config-schema.ts';
import type { TargetState } from './health-state.ts';
import { isTroubled } from './health-state.ts';
import {
  type EscalationPolicy,
  higherSeverity,
  type Incident,
  type IncidentKind,
  incidentId,
  isMoreSevere,
  type TimelineEntry,
} from './incident.ts';
import type { Target } from './targets.ts';

/**
 * Turns the whole fleet's health into problems, one per thing that is wrong, so that one database or host failure
 * is one incident and not one per service. Reconciling against the whole snapshot (instead of handling health
 * changes one by one) is what makes grouping possible without opening N incidents and merging them afterwards.
 *
 * Precedence: a down dependency absorbs the down services that depend on it; then a quorum of critical services
 * down is one fleet outage; then all services of one host down is one host outage; everything else is reported per
 * target. Groups are sticky: an open group keeps absorbing its members until every one of them has recovered.
 */
export interface ProblemReport {
  readonly dedupKey: string;
  readonly kind: IncidentKind;
  readonly severity: Severity;
  readonly title: string;
  readonly targets: readonly string[];
  readonly services: readonly string[];
  readonly host?: string;
  readonly flapping: boolean;
  readonly detail: string;
  readonly failingSince: number;
}

export interface IncidentPlan {
  readonly reports: readonly ProblemReport[];
  /** Open incidents whose problem is gone: every target recovered (M successes) and none flapping. */
  readonly recovered: readonly Incident[];
  /** Open per-target incidents now covered by a group report: resolved in favour of the group. */
  readonly superseded: readonly { readonly incident: Incident; readonly byKey: string }[];
}

const GROUP_KINDS: ReadonlySet<IncidentKind> = new Set(['dependency-down', 'fleet-outage', 'host-outage']);
/** Kinds raised by operators, by other monitors (backups, drills) or by an escalation test: the probe planner neither folds nor resolves them. */
const NOT_FROM_PROBES: ReadonlySet<IncidentKind> = new Set(['security', 'manual', 'backup', 'drill', 'test']);

export function fleetOutageKey(config: FleetConfig): string {
  return `fleet-outage@${config.fleet.name}`;
}

export function hostOutageKey(host: string): string {
  return `host-outage@${host}`;
}

export function planIncidents(
  config: FleetConfig,
  targets: readonly Target[],
  states: ReadonlyMap<string, TargetState>,
  openIncidents: readonly Incident[],
): IncidentPlan {
  const byId = new Map(targets.map((t) => [t.id, t]));
  const state = (t: Target) => states.get(t.id);
  const isDown = (t: Target) => state(t)?.health === 'down' && !state(t)?.flapping;
  const openByKey = new Map(openIncidents.filter((i) => i.status !== 'resolved').map((i) => [i.dedupKey, i]));
  const serviceTargets = targets.filter((t) => t.role === 'service');
  const serviceByName = new Map(serviceTargets.map((t) => [t.service ?? t.name, t]));
  const covered = new Set<string>();
  const reports: ProblemReport[] = [];

  const cover = (members: Target[]) => {
    for (const m of members) covered.add(m.id);
  };
  const stillTroubled = (ids: readonly string[]) =>
    ids.flatMap((id) => {
      const t = byId.get(id);
      return t && isTroubled(states.get(id)) ? [t] : [];
    });

  // 1. Dependencies down, with the services that depend on them.
  for (const dep of targets.filter((t) => t.role === 'dependency')) {
    const dependents = config.services.filter((s) => s.dependsOn.includes(dep.name)).map((s) => s.name);
    const key = dep.id;
    const open = openByKey.get(key);
    const isGroup = dep.critical || dependents.length > 0;
    const groupOpen = isGroup && open?.kind === 'dependency-down';
    if (!(isDown(dep) && isGroup) && !groupOpen) continue;
    const downDependents = serviceTargets.filter(
      (s) => dependents.includes(s.service ?? s.name) && isDown(s) && !covered.has(s.id),
    );
    const members = groupOpen
      ? dedupe([...stillTroubled(open.targets).filter((t) => !covered.has(t.id)), ...downDependents])
      : dedupe([dep, ...downDependents]);
    if (members.length === 0) continue;
    cover(members);
    const depState = isDown(dep) ? 'down' : 'recovering';
    reports.push({
      dedupKey: key,
      kind: 'dependency-down',
      severity: dep.critical ? 'P1' : 'P2',
      title: `${dep.name} ${depState}: ${dependents.length} dependent service${dependents.length === 1 ? '' : 's'} impacted`,
      targets: members.map((m) => m.id),
      services: dependents,
      host: dep.host,
      flapping: false,
      detail: describeMembers(members, states),
      failingSince: earliestFailure(members, states),
    });
  }

  // 2. A quorum of critical services down at once: one complete-outage incident.
  const remainingDown = serviceTargets.filter((s) => isDown(s) && !covered.has(s.id));
  const criticalTotal = serviceTargets.filter((s) => s.critical).length;
  const criticalDown = remainingDown.filter((s) => s.critical).length;
  const quorum = Math.max(2, Math.ceil((config.grouping.outageQuorumPercent / 100) * criticalTotal));
  const outageKey = fleetOutageKey(config);
  const outageOpen = openByKey.get(outageKey);
  const outageMembers = dedupe([
    ...(outageOpen ? stillTroubled(outageOpen.targets).filter((t) => !covered.has(t.id)) : []),
    ...remainingDown,
  ]);
  if (criticalDown >= quorum || (outageOpen && outageMembers.length > 0)) {
    cover(outageMembers);
    const downCount = outageMembers.filter(isDown).length;
    reports.push({
      dedupKey: outageKey,
      kind: 'fleet-outage',
      severity: 'P1',
      title: `Complete outage of ${config.fleet.name}: ${downCount} of ${serviceTargets.length} services down`,
      targets: outageMembers.map((m) => m.id),
      services: outageMembers.map((m) => m.service ?? m.name),
      flapping: false,
      detail: describeMembers(outageMembers, states),
      failingSince: earliestFailure(outageMembers, states),
    });
  }

  // 3. Every service of one host down: one host incident.
  const hosts = new Map<string, Target[]>();
  for (const s of serviceTargets) hosts.set(s.host, [...(hosts.get(s.host) ?? []), s]);
  for (const [host, onHost] of hosts) {
    const key = hostOutageKey(host);
    const open = openByKey.get(key);
    const down = onHost.filter((s) => isDown(s) && !covered.has(s.id));
    const allDown = down.length === onHost.length && down.length >= config.grouping.hostMinServices;
    const members = dedupe([...(open ? stillTroubled(open.targets).filter((t) => !covered.has(t.id)) : []), ...down]);
    if (!allDown && !(open && members.length > 0)) continue;
    cover(members);
    reports.push({
      dedupKey: key,
      kind: 'host-outage',
      severity: 'P2',
      title: `Host ${host} outage: ${members.length} service${members.length === 1 ? '' : 's'} down`,
      targets: members.map((m) => m.id),
      services: members.map((m) => m.service ?? m.name),
      host,
      flapping: false,
      detail: describeMembers(members, states),
      failingSince: earliestFailure(members, states),
    });
  }

  // 4. Everything else, per target.
  for (const t of targets) {
    const s = state(t);
    if (!s || covered.has(t.id) || !isTroubled(s)) continue;
    reports.push(targetReport(t, s, config, serviceByName));
  }

  const reported = new Set(reports.map((r) => r.dedupKey));
  const superseded: { incident: Incident; byKey: string }[] = [];
  const recovered: Incident[] = [];
  for (const incident of openByKey.values()) {
    if (reported.has(incident.dedupKey) || NOT_FROM_PROBES.has(incident.kind)) continue;
    // Still in trouble but not reported under its own key: another group took its targets over (a database outage
    // absorbing a fleet outage, an outage absorbing a service). That is a supersession, never a recovery.
    const troubled = incident.targets.filter((id) => isTroubled(states.get(id)));
    const group =
      troubled.length > 0
        ? reports.find((r) => GROUP_KINDS.has(r.kind) && troubled.every((id) => r.targets.includes(id)))
        : GROUP_KINDS.has(incident.kind)
          ? undefined
          : reports.find((r) => GROUP_KINDS.has(r.kind) && incident.targets.every((id) => r.targets.includes(id)));
    if (group) superseded.push({ incident, byKey: group.dedupKey });
    else recovered.push(incident);
  }
  return { reports, recovered, superseded };
}

function targetReport(
  t: Target,
  s: TargetState,
  config: FleetConfig,
  serviceByName: ReadonlyMap<string, Target>,
): ProblemReport {
  const down = s.health === 'down';
  const label = t.role === 'service' ? (config.services.find((c) => c.name === t.name)?.displayName ?? t.name) : t.name;
  let kind: IncidentKind;
  let severity: Severity;
  let what: string;
  if (s.flapping) {
    kind = 'flapping';
    severity = t.critical ? 'P2' : 'P3';
    what = 'is flapping';
  } else if (t.role === 'metric') {
    kind = 'performance';
    severity = 'P3';
    what = down ? 'cannot be read' : 'is over its threshold';
  } else if (t.role === 'service') {
    const slowOnly = !down && s.problemReason === 'latency';
    kind = down ? 'service-down' : slowOnly ? 'performance' : 'service-degraded';
    severity = slowOnly ? 'P3' : t.critical ? 'P2' : 'P3';
    what = down ? 'is down' : slowOnly ? 'is slow' : 'is degraded';
  } else {
    kind = down ? 'dependency-down' : 'dependency-degraded';
    severity = down && t.critical ? 'P2' : 'P3';
    what = down ? 'is down' : 'is degraded';
  }
  const service = t.service !== undefined ? serviceByName.get(t.service) : undefined;
  return {
    dedupKey: t.id,
    kind,
    severity,
    title: `${label} ${what}`,
    targets: [t.id],
    services: t.service !== undefined ? [t.service] : [],
    host: service?.host ?? t.host,
    flapping: s.flapping,
    detail: s.lastProblem ?? `${t.name} ${what}`,
    failingSince: s.failingSince ?? s.since,
  };
}

function dedupe(targets: Target[]): Target[] {
  return [...new Map(targets.map((t) => [t.id, t])).values()];
}

function earliestFailure(members: readonly Target[], states: ReadonlyMap<string, TargetState>): number {
  return Math.min(...members.map((m) => states.get(m.id)?.failingSince ?? states.get(m.id)?.since ?? Infinity));
}

function describeMembers(members: readonly Target[], states: ReadonlyMap<string, TargetState>): string {
  return members
    .map((m) => {
      const s = states.get(m.id);
      return `${m.name}: ${s?.health ?? 'unknown'}${s?.lastProblem ? ` (${s.lastProblem})` : ''}`;
    })
    .join('; ');
}

/** A new incident from a report, with the escalation policy frozen onto it. */
export function openIncident(
  report: ProblemReport,
  policy: EscalationPolicy,
  now: number,
): {
  incident: Incident;
  timeline: TimelineEntry[];
} {
  const incident: Incident = {
    id: incidentId(report.dedupKey, now),
    dedupKey: report.dedupKey,
    kind: report.kind,
    title: report.title,
    severity: report.severity,
    status: 'open',
    targets: report.targets,
    services: report.services,
    ...(report.host === undefined ? {} : { host: report.host }),
    flapping: report.flapping,
    detail: report.detail,
    count: 1,
    failingSince: Math.min(report.failingSince, now),
    openedAt: now,
    lastSeen: now,
    slaDueAt: now + policy.responseTime[report.severity],
    escalation: { policy, level: 0, nextAt: now, pending: 'opened', pages: 0 },
    breakerTripped: [],
    version: 1,
  };
  return { incident, timeline: [{ at: now, type: 'opened', severity: report.severity, detail: report.detail }] };
}

export interface ReportOutcome {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
  readonly severityRaised: boolean;
}

/**
 * Folds a repeated report into the open incident: count and lastSeen move, impact only grows, severity may rise
 * and never silently falls.
 */
export function applyReport(incident: Incident, report: ProblemReport, now: number): ReportOutcome {
  const timeline: TimelineEntry[] = [];
  const severity = higherSeverity(incident.severity, report.severity);
  const severityRaised = isMoreSevere(report.severity, incident.severity);
  if (severityRaised)
    timeline.push({ at: now, type: 'severity-raised', from: incident.severity, to: severity, detail: report.detail });
  const addedTargets = report.targets.filter((t) => !incident.targets.includes(t));
  const addedServices = report.services.filter((s) => !incident.services.includes(s));
  if (addedServices.length > 0 || addedTargets.length > 0)
    timeline.push({ at: now, type: 'impact-changed', added: addedServices.length > 0 ? addedServices : addedTargets });
  if (report.flapping !== incident.flapping) timeline.push({ at: now, type: 'flapping', flapping: report.flapping });
  const { policy } = incident.escalation;
  const updated: Incident = {
    ...incident,
    kind: report.kind,
    title: report.title,
    severity,
    targets: [...incident.targets, ...addedTargets],
    services: [...incident.services, ...addedServices],
    flapping: report.flapping,
    detail: report.detail,
    count: incident.count + 1,
    lastSeen: now,
    failingSince: Math.min(incident.failingSince, report.failingSince),
    slaDueAt: severityRaised ? Math.min(incident.slaDueAt, now + policy.responseTime[severity]) : incident.slaDueAt,
    // A risen severity owes the first page of the new severity, due now (the escalation step delivers it).
    ...(severityRaised
      ? { escalation: { ...incident.escalation, nextAt: now, pending: 'severity-raised' as const } }
      : {}),
  };
  return { incident: updated, timeline, severityRaised };
}
