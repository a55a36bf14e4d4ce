import { checkDependencies } from './check-dependencies.ts';
import type { FleetConfig, Severity, Signal } from './config-schema.ts';
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
 * Turns the whole fleet's health into problems, one per cause, so that one database or host failure is one incident
 * and not one per service. Reconciling against the whole snapshot (instead of handling health changes one by one)
 * is what makes grouping possible without opening N incidents and merging them afterwards.
 *
 * Precedence:
 * 1. Inhibition: a dependency that is down (a check that services or other checks depend on, by `dependsOn` or, for
 *    a Prometheus query, implicitly on its server: core/check-dependencies.ts) absorbs every target in trouble that
 *    depends on it, transitively: one incident for the cause, naming what it takes down ("prometheus down: latency,
 *    error rate, CPU and memory not observable"). Inhibition only decides which incident a target's trouble belongs
 *    to: every target is still probed, its health recorded and shown, and it is listed in the covering incident.
 * 2. A quorum of critical services down is one fleet outage; 3. every service of one host down is one host outage;
 *    4. everything else is reported per target.
 * 5. A complete outage with several causes: when a quorum of critical services is down (for whatever reason) and
 *    one snapshot shows several new problems at once (nothing running, a host or its network gone), they are one
 *    fleet outage naming each cause, not one incident and one page each; while that outage is open and the quorum
 *    is still down, new problems join it.
 * Groups are sticky: an open group keeps absorbing its members until every one of them has recovered. The one
 * exception is a dependency that is up again: its members still failing are released to incidents of their own
 * (the cause is gone, their trouble is not), while those already answering again stay with it until they are up.
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
  /**
   * Open dependency incidents whose dependency is up again while members still fail: resolved with this
   * resolution, the members reported on their own.
   */
  readonly released: readonly { readonly incident: Incident; readonly resolution: string }[];
}

const GROUP_KINDS: ReadonlySet<IncidentKind> = new Set(['dependency-down', 'fleet-outage', 'host-outage']);
/** Kinds raised by operators, by other monitors (backups, drills) or by an escalation test: the probe planner neither folds nor resolves them. */
const NOT_FROM_PROBES: ReadonlySet<IncidentKind> = new Set(['security', 'manual', 'backup', 'drill', 'test']);

/** What a Prometheus signal lets an operator observe, for "prometheus down: latency, ... not observable". */
const SIGNAL_WORDS: Record<Signal, string> = {
  latencyP95Ms: 'latency',
  errorRatePercent: 'error rate',
  cpuPercent: 'CPU',
  memoryPercent: 'memory',
};

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
  const troubled = (t: Target) => isTroubled(state(t));
  const openByKey = new Map(openIncidents.filter((i) => i.status !== 'resolved').map((i) => [i.dedupKey, i]));
  const serviceTargets = targets.filter((t) => t.role === 'service');
  const serviceByName = new Map(serviceTargets.map((t) => [t.service ?? t.name, t]));
  const graph = dependencyGraph(config, targets);
  const covered = new Set<string>();
  const reports: ProblemReport[] = [];
  const releasedBy = new Map<string, { readonly dep: Target; readonly members: readonly Target[] }>();

  const cover = (members: Target[]) => {
    for (const m of members) covered.add(m.id);
  };
  const free = (t: Target) => !covered.has(t.id);
  const stillTroubled = (ids: readonly string[]) =>
    ids.flatMap((id) => {
      const t = byId.get(id);
      return t && isTroubled(states.get(id)) ? [t] : [];
    });
  const ownSeverity = (t: Target): Severity => {
    const s = state(t);
    return s ? targetReport(t, s, config, serviceByName).severity : 'P3';
  };

  // What started a complete outage, for its detail: each dependency in trouble that nothing it depends on explains,
  // with what it takes down, and each other check in trouble (the services are counted in the title).
  const causesAmong = (members: readonly Target[]): string[] =>
    members.flatMap((m) => {
      const s = state(m);
      if (m.role === 'service' || !s || !isTroubled(s) || graph.dependenciesOf(m).some(troubled)) return [];
      const dependents = graph.dependentsOf(m);
      return [
        dependents.length > 0
          ? `${m.name} ${describeHealth(s)}: ${impactOf(dependents)}`
          : targetReport(m, s, config, serviceByName).title,
      ];
    });

  const outageKey = fleetOutageKey(config);
  const outageOpen = openByKey.get(outageKey);
  // What an open fleet outage still holds: it keeps those (and whatever depends on them) until they recover.
  const outageHeld = new Set(outageOpen ? stillTroubled(outageOpen.targets).map((t) => t.id) : []);

  // 1. Dependencies down, with everything that depends on them (inhibition).
  for (const dep of targets.filter((t) => t.role !== 'service')) {
    const dependents = graph.dependentsOf(dep);
    const isGroup = dependents.length > 0 || (dep.role === 'dependency' && dep.critical);
    const open = openByKey.get(dep.id);
    const groupOpen = isGroup && open?.kind === 'dependency-down';
    if (!(isDown(dep) && isGroup) && !groupOpen) continue;
    // A dependency that depends on one that is down belongs to that one's incident; one the open fleet outage holds
    // stays with the outage.
    if (outageHeld.has(dep.id) || graph.dependenciesOf(dep).some(isDown)) continue;
    const newcomers = dependents.filter((d) => troubled(d) && free(d));
    const held = groupOpen ? stillTroubled(open.targets) : [];
    let members: Target[];
    if (troubled(dep)) {
      members = dedupe([...(groupOpen ? held : [dep]), ...newcomers]).filter(free);
    } else {
      // The dependency is back: members already answering again stay until they are up; the others are released.
      const still = dedupe([...held, ...newcomers]).filter(free);
      members = still.filter((t) => state(t)?.lastStatus === 'healthy');
      const failing = still.filter((t) => state(t)?.lastStatus !== 'healthy');
      if (open && members.length === 0 && failing.length > 0) releasedBy.set(open.id, { dep, members: failing });
    }
    if (members.length === 0) continue;
    cover(members);
    const services = servicesOf(dependents);
    reports.push({
      dedupKey: dep.id,
      kind: 'dependency-down',
      severity: dep.critical ? 'P1' : services.length > 0 ? 'P2' : highest(members.map(ownSeverity)),
      title: `${dep.name} ${isDown(dep) ? 'down' : 'recovering'}: ${impactOf(dependents)}`,
      targets: members.map((m) => m.id),
      services,
      host: dep.host,
      flapping: false,
      detail: describeMembers(members, states),
      failingSince: earliestFailure(members, states),
    });
  }

  // 2. A quorum of critical services down at once: one complete-outage incident.
  const remainingDown = serviceTargets.filter((s) => isDown(s) && free(s));
  const criticalTotal = serviceTargets.filter((s) => s.critical).length;
  const criticalDown = remainingDown.filter((s) => s.critical).length;
  const quorum = Math.max(2, Math.ceil((config.grouping.outageQuorumPercent / 100) * criticalTotal));
  const outageMembers = outageOpen
    ? dedupe([
        ...stillTroubled(outageOpen.targets).filter(free),
        // Whatever gets into trouble while something the outage holds is down is part of it too.
        ...targets.filter((t) => free(t) && troubled(t) && graph.dependenciesOf(t).some((d) => outageHeld.has(d.id))),
        ...remainingDown,
      ])
    : remainingDown;
  if (criticalDown >= quorum || (outageOpen && outageMembers.length > 0)) {
    cover(outageMembers);
    reports.push(outageReport(config, serviceTargets, outageMembers, states, causesAmong(outageMembers)));
  }

  // 3. Every service of one host down: one host incident.
  const hosts = new Map<string, Target[]>();
  for (const s of serviceTargets) hosts.set(s.host, [...(hosts.get(s.host) ?? []), s]);
  for (const [host, onHost] of hosts) {
    const key = hostOutageKey(host);
    const open = openByKey.get(key);
    const down = onHost.filter((s) => isDown(s) && free(s));
    const allDown = down.length === onHost.length && down.length >= config.grouping.hostMinServices;
    const members = dedupe([...(open ? stillTroubled(open.targets).filter(free) : []), ...down]);
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

  // 5. A complete outage with several causes at once: one incident for all of them.
  const isNew = (r: ProblemReport) => !openByKey.has(r.dedupKey);
  const fresh = reports.filter(isNew);
  const outageOngoing = outageOpen !== undefined && reports.some((r) => r.dedupKey === outageKey);
  const quorumDown = serviceTargets.filter((s) => s.critical && isDown(s)).length >= quorum;
  if (quorumDown && (outageOngoing ? fresh.length > 0 : fresh.length >= 2)) {
    const folded = reports.filter((r) => r.dedupKey === outageKey || isNew(r));
    const members = dedupe(folded.flatMap((r) => r.targets.flatMap((id) => byId.get(id) ?? [])));
    const at = reports.findIndex((r) => folded.includes(r));
    const kept = reports.filter((r) => !folded.includes(r));
    reports.splice(0, reports.length, ...kept);
    reports.splice(at, 0, outageReport(config, serviceTargets, members, states, causesAmong(members)));
  }

  const reported = new Set(reports.map((r) => r.dedupKey));
  const superseded: { incident: Incident; byKey: string }[] = [];
  const recovered: Incident[] = [];
  const released: { incident: Incident; resolution: string }[] = [];
  for (const incident of openByKey.values()) {
    if (reported.has(incident.dedupKey) || NOT_FROM_PROBES.has(incident.kind)) continue;
    // Still in trouble but not reported under its own key: another group took its targets over (a database outage
    // absorbing a fleet outage, an outage absorbing a service). That is a supersession, never a recovery.
    const troubledIds = incident.targets.filter((id) => isTroubled(states.get(id)));
    const group =
      troubledIds.length > 0
        ? reports.find((r) => GROUP_KINDS.has(r.kind) && troubledIds.every((id) => r.targets.includes(id)))
        : GROUP_KINDS.has(incident.kind)
          ? undefined
          : reports.find((r) => GROUP_KINDS.has(r.kind) && incident.targets.every((id) => r.targets.includes(id)));
    const release = releasedBy.get(incident.id);
    if (group) superseded.push({ incident, byKey: group.dedupKey });
    else if (release)
      released.push({
        incident,
        resolution:
          `${release.dep.name} is up again; ${listed(release.members.map((m) => m.name))} still ` +
          `${release.members.length === 1 ? 'fails' : 'fail'}, now reported apart`,
      });
    else recovered.push(incident);
  }
  return { reports, recovered, superseded, released };
}

/** The fleet outage over `members`; `causes` are what started it, if more than services are down. */
function outageReport(
  config: FleetConfig,
  serviceTargets: readonly Target[],
  members: readonly Target[],
  states: ReadonlyMap<string, TargetState>,
  causes: readonly string[],
): ProblemReport {
  const down = (t: Target) => states.get(t.id)?.health === 'down';
  const services = members.filter((m) => m.role === 'service');
  const checksDown = members.filter((m) => m.role === 'dependency' && down(m)).map((m) => m.name);
  const memberList = describeMembers(members, states);
  return {
    dedupKey: fleetOutageKey(config),
    kind: 'fleet-outage',
    severity: 'P1',
    title:
      `Complete outage of ${config.fleet.name}: ${services.filter(down).length} of ${serviceTargets.length} services down` +
      (checksDown.length > 0 ? `; ${listed(checksDown)} down too` : ''),
    targets: members.map((m) => m.id),
    services: services.map((m) => m.service ?? m.name),
    flapping: false,
    detail: causes.length > 0 ? `causes: ${causes.join('; ')}. ${memberList}` : memberList,
    failingSince: earliestFailure(members, states),
  };
}

/** Each target's dependencies and dependents, transitively: services by `dependsOn`, checks by check-dependencies. */
function dependencyGraph(config: FleetConfig, targets: readonly Target[]) {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const checkDeps = checkDependencies(config.checks);
  const serviceDeps = new Map(config.services.map((s) => [s.name, s.dependsOn]));
  const direct = new Map(
    targets.map((t) => {
      const names = (t.role === 'service' ? serviceDeps.get(t.name) : checkDeps.get(t.name)) ?? [];
      return [t.id, names.flatMap((n) => byName.get(n) ?? [])];
    }),
  );
  const closure = new Map(
    targets.map((t) => {
      const seen = new Map<string, Target>();
      const queue = [...(direct.get(t.id) ?? [])];
      for (let d = queue.shift(); d; d = queue.shift()) {
        if (seen.has(d.id) || d.id === t.id) continue;
        seen.set(d.id, d);
        queue.push(...(direct.get(d.id) ?? []));
      }
      return [t.id, [...seen.values()]];
    }),
  );
  const dependents = new Map<string, Target[]>();
  for (const t of targets)
    for (const d of closure.get(t.id) ?? []) dependents.set(d.id, [...(dependents.get(d.id) ?? []), t]);
  return {
    dependenciesOf: (t: Target): readonly Target[] => closure.get(t.id) ?? [],
    /** In target order: services first, then checks, each in config order. */
    dependentsOf: (t: Target): readonly Target[] => dependents.get(t.id) ?? [],
  };
}

/** The services a dependency takes down: its dependent services and those its dependent metrics are about. */
function servicesOf(dependents: readonly Target[]): string[] {
  return [
    ...new Set(
      dependents.flatMap((d) => (d.role === 'service' ? [d.service ?? d.name] : d.service ? [d.service] : [])),
    ),
  ];
}

/** "7 dependent services impacted", "latency, error rate, CPU and memory not observable", or both. */
function impactOf(dependents: readonly Target[]): string {
  const services = dependents.filter((d) => d.role === 'service').length;
  const signals = [...new Set(dependents.flatMap((d) => (d.kind === 'prometheus' ? [SIGNAL_WORDS[d.signal]] : [])))];
  const checks = dependents.filter((d) => d.role !== 'service' && d.kind !== 'prometheus').map((d) => d.name);
  const parts = [
    ...(services > 0 || dependents.length === 0
      ? [`${services} dependent service${services === 1 ? '' : 's'} impacted`]
      : []),
    ...(signals.length > 0 ? [`${listed(signals)} not observable`] : []),
    ...(checks.length > 0 ? [`${listed(checks)} impacted`] : []),
  ];
  return parts.join('; ');
}

/** "down" or, for a dependency in trouble but no longer down, "recovering". */
function describeHealth(s: TargetState): string {
  return s.health === 'down' && !s.flapping ? 'down' : 'recovering';
}

/** "a", "a and b", "a, b and c". */
function listed(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

function highest(severities: readonly Severity[]): Severity {
  return severities.reduce<Severity>((a, b) => higherSeverity(a, b), 'P3');
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
