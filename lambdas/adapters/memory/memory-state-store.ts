import { type AuditEntry, type AuditQuery, selectAuditEntries } from '../../core/audit.ts';
import { VersionConflictError } from '../../core/errors.ts';
import type { MaintenanceWindow } from '../../core/escalation.ts';
import type { TargetState } from '../../core/health-state.ts';
import type { Incident, TimelineEntry } from '../../core/incident.ts';
import { checkLeaseRequest } from '../../core/lease.ts';
import { incidentDueAt } from '../../core/notices.ts';
import type { RemediationAttempt } from '../../core/remediation.ts';
import type { ControlStore, CreateIncidentResult, IncidentStore, LeaseClaim, TargetStateStore } from '../../ports.ts';

/**
 * In-process state with the same guarantees as the durable stores: conditional create per open dedup key and
 * optimistic versions. Used by one-shot commands and tests; every read returns a copy, so callers cannot mutate
 * stored state behind the store's back. Each call yields to the event loop first, so concurrent callers interleave
 * the way they do against a real database.
 */
export class MemoryStateStore implements TargetStateStore, IncidentStore, ControlStore {
  private readonly states = new Map<string, TargetState>();
  private readonly incidents = new Map<string, Incident>();
  private readonly openKeys = new Map<string, string>();
  private readonly timelines = new Map<string, TimelineEntry[]>();
  private readonly attempts = new Map<string, RemediationAttempt>();
  private readonly isolated = new Set<string>();
  private readonly windows = new Map<string, MaintenanceWindow>();
  private readonly leases = new Map<string, { readonly holder: string; readonly until: number }>();
  private readonly audit: AuditEntry[] = [];
  /** Number of target-state writes, for tests and benchmarks of write amplification. */
  stateWrites = 0;

  async loadTargetStates(targetIds: readonly string[]): Promise<Map<string, TargetState>> {
    await tick();
    const found = new Map<string, TargetState>();
    for (const id of targetIds) {
      const s = this.states.get(id);
      if (s) found.set(id, structuredClone(s));
    }
    return found;
  }

  async saveTargetStates(states: readonly TargetState[]): Promise<void> {
    await tick();
    for (const s of states) {
      const current = this.states.get(s.targetId)?.version ?? 0;
      if (current !== s.version) throw new VersionConflictError(`target state ${s.targetId}`, s.version);
    }
    for (const s of states) {
      this.states.set(s.targetId, structuredClone({ ...s, version: s.version + 1 }));
      this.stateWrites++;
    }
  }

  async createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult> {
    await tick();
    const openId = this.openKeys.get(incident.dedupKey);
    const existing = openId === undefined ? undefined : this.incidents.get(openId);
    if (existing) return { created: false, existing: structuredClone(existing) };
    if (this.incidents.has(incident.id)) throw new VersionConflictError(`incident ${incident.id}`, 0);
    const stored: Incident = { ...incident, version: 1 };
    this.incidents.set(incident.id, structuredClone(stored));
    if (stored.status !== 'resolved') this.openKeys.set(incident.dedupKey, incident.id);
    this.timelines.set(incident.id, structuredClone([...timeline]));
    return { created: true, incident: structuredClone(stored) };
  }

  async updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    await tick();
    const current = this.incidents.get(incident.id);
    if (!current || current.version !== incident.version)
      throw new VersionConflictError(`incident ${incident.id}`, incident.version);
    const stored: Incident = { ...incident, version: incident.version + 1 };
    this.incidents.set(incident.id, structuredClone(stored));
    if (stored.status === 'resolved' && this.openKeys.get(stored.dedupKey) === stored.id)
      this.openKeys.delete(stored.dedupKey);
    this.timelines.get(incident.id)?.push(...structuredClone([...timeline]));
    return structuredClone(stored);
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    await tick();
    const found = this.incidents.get(id);
    return found && structuredClone(found);
  }

  async findOpenIncident(dedupKey: string): Promise<Incident | undefined> {
    await tick();
    const id = this.openKeys.get(dedupKey);
    const found = id === undefined ? undefined : this.incidents.get(id);
    return found && structuredClone(found);
  }

  async listOpenIncidents(): Promise<Incident[]> {
    await tick();
    return [...this.openKeys.values()].flatMap((id) => {
      const found = this.incidents.get(id);
      return found ? [structuredClone(found)] : [];
    });
  }

  async listIncidentsDue(now: number): Promise<Incident[]> {
    await tick();
    return [...this.incidents.values()]
      .filter((i) => {
        const due = incidentDueAt(i);
        return due !== undefined && due <= now;
      })
      .map((i) => structuredClone(i));
  }

  async listIncidents(query: { readonly since?: number; readonly limit?: number }): Promise<Incident[]> {
    await tick();
    return [...this.incidents.values()]
      .filter((i) => query.since === undefined || i.lastSeen >= query.since)
      .sort((a, b) => b.openedAt - a.openedAt)
      .slice(0, query.limit ?? Number.POSITIVE_INFINITY)
      .map((i) => structuredClone(i));
  }

  async getTimeline(incidentId: string): Promise<TimelineEntry[]> {
    await tick();
    return structuredClone(this.timelines.get(incidentId) ?? []);
  }

  async recordAttempt(attempt: RemediationAttempt): Promise<void> {
    await tick();
    if (this.attempts.has(attempt.id)) throw new VersionConflictError(`remediation attempt ${attempt.id}`, 0);
    this.attempts.set(attempt.id, structuredClone(attempt));
  }

  async finishAttempt(
    id: string,
    outcome: 'succeeded' | 'failed',
    finishedAt: number,
    detail: string,
  ): Promise<boolean> {
    await tick();
    const current = this.attempts.get(id);
    if (!current) throw new VersionConflictError(`remediation attempt ${id}`, 1);
    if (current.outcome !== 'pending') return false;
    this.attempts.set(id, { ...current, outcome, finishedAt, detail });
    return true;
  }

  async listAttempts(services: readonly string[], since: number): Promise<RemediationAttempt[]> {
    await tick();
    return [...this.attempts.values()]
      .filter((a) => services.includes(a.service) && a.requestedAt >= since)
      .map((a) => structuredClone(a));
  }

  async attachCommand(attemptId: string, commandId: string): Promise<void> {
    await tick();
    const current = this.attempts.get(attemptId);
    if (!current) throw new VersionConflictError(`remediation attempt ${attemptId}`, 1);
    this.attempts.set(attemptId, { ...current, commandId });
  }

  async findAttemptByCommand(commandId: string): Promise<RemediationAttempt | undefined> {
    await tick();
    const found = [...this.attempts.values()].find((a) => a.commandId === commandId);
    return found && structuredClone(found);
  }

  async listPendingAttempts(before: number): Promise<RemediationAttempt[]> {
    await tick();
    return [...this.attempts.values()]
      .filter((a) => a.outcome === 'pending' && a.requestedAt < before)
      .map((a) => structuredClone(a));
  }

  async setIsolated(service: string, isolated: boolean, _by: string, _at: number): Promise<void> {
    await tick();
    if (isolated) this.isolated.add(service);
    else this.isolated.delete(service);
  }

  async listIsolated(): Promise<Set<string>> {
    await tick();
    return new Set(this.isolated);
  }

  async putMaintenanceWindow(window: MaintenanceWindow): Promise<void> {
    await tick();
    this.windows.set(window.id, structuredClone(window));
  }

  async listMaintenanceWindows(activeAfter: number): Promise<MaintenanceWindow[]> {
    await tick();
    return [...this.windows.values()].filter((w) => w.endsAt > activeAfter).map((w) => structuredClone(w));
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<LeaseClaim> {
    checkLeaseRequest(name, holder, now, until);
    await tick();
    const held = this.leases.get(name);
    if (held && held.holder !== holder && held.until > now)
      return { acquired: false, holder: held.holder, until: held.until };
    this.leases.set(name, { holder, until });
    return { acquired: true };
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    await tick();
    if (this.leases.get(name)?.holder !== holder) return false;
    this.leases.delete(name);
    return true;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await tick();
    this.audit.push(structuredClone(entry));
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    await tick();
    return structuredClone(selectAuditEntries(this.audit, query));
  }
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
