import type { AuditEntry, AuditQuery } from '../../core/audit.ts';
import { errorCode, errorMessage, VersionConflictError } from '../../core/errors.ts';
import type { MaintenanceWindow } from '../../core/escalation.ts';
import type { TargetState } from '../../core/health-state.ts';
import type { Incident, TimelineEntry } from '../../core/incident.ts';
import { incidentDueAt } from '../../core/notices.ts';
import type { RemediationAttempt } from '../../core/remediation.ts';
import type {
  Clock,
  ControlStore,
  CreateIncidentResult,
  IncidentStore,
  LeaseClaim,
  TargetStateStore,
} from '../../ports.ts';

export type StateStore = TargetStateStore & IncidentStore & ControlStore;

/** Whether the state can be written, as the daemon reports it (stderr, heartbeat). */
export interface StateWriteStatus {
  readonly writable: boolean;
  /** Changes (target states, incidents, restart attempts) held in memory until the state accepts writes. */
  readonly pendingChanges: number;
  /** Since when writes fail (epoch ms), and why. */
  readonly since?: number;
  readonly error?: string;
}

/** Errors meaning the storage refuses writes (full disk, I/O error, read-only), as opposed to a lost race. */
const STORAGE_FAILURE = /^(SQLITE_(FULL|IOERR|READONLY|CANTOPEN)|ENOSPC|EDQUOT|EIO|EROFS)/;

export function isStorageFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && STORAGE_FAILURE.test(code);
}

interface PendingIncident {
  incident: Incident;
  readonly timeline: TimelineEntry[];
  /** Created while the state could not be written: the store has never seen it. */
  readonly created: boolean;
  /** The stored version this incident was at when it was first changed in memory. */
  readonly baseVersion: number;
}

interface PendingAttempt {
  attempt: RemediationAttempt;
  readonly created: boolean;
  finished: boolean;
  command?: string;
}

/**
 * The daemon's state when the disk may refuse writes (full, I/O errors, remounted read-only): paging must not depend
 * on being able to write first. Writes go straight to the store while it takes them; when one fails for a storage
 * reason, it and every later change are kept in memory (with the same version checks the store makes), reads see
 * them, and each later write or `flush` tries to write them out, oldest first, until the store takes them again.
 *
 * Only for the single daemon holding the state directory's lock: what it holds in memory is lost if it dies before
 * writing it (the pages it delivered meanwhile went out; their record is what is lost). Operator commands and the
 * Lambdas write directly (in AWS a failed write throws and the invocation is retried). Maintenance windows and
 * isolation marks are operators' writes and pass straight through.
 *
 * If someone else changed an incident between the failure and the write-out (an operator's ack once space
 * returned), their incident stands and the timeline entries kept in memory are appended to it.
 */
export class WriteBehindStateStore implements StateStore {
  private readonly states = new Map<string, TargetState>();
  private readonly incidents = new Map<string, PendingIncident>();
  private readonly attempts = new Map<string, PendingAttempt>();
  private failure: { readonly since: number; readonly error: string } | undefined;
  private flushing: Promise<boolean> | undefined;
  /** Changes in memory are made one at a time: each checks versions and keys, then writes, with no one in between. */
  private inMemoryQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    /** Called when writes start failing and when they succeed again: once each, not per write. */
    private readonly onChange: (status: StateWriteStatus) => void,
    /** A change held in memory that the store refused for another reason than storage when it was written out. */
    private readonly onRefused: (what: string, error: unknown) => void = (what, error) => {
      throw new Error(`${what} could not be written`, { cause: error });
    },
  ) {}

  status(): StateWriteStatus {
    const pendingChanges = this.states.size + this.incidents.size + this.attempts.size;
    return this.failure
      ? { writable: false, pendingChanges, since: this.failure.since, error: this.failure.error }
      : { writable: true, pendingChanges };
  }

  /** Writes out what is held in memory; true when nothing is left (the state is writable again). */
  flush(): Promise<boolean> {
    if (!this.pending()) return Promise.resolve(true);
    this.flushing ??= this.writeOut().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  // ---- target states -----------------------------------------------------------------------------------------

  async loadTargetStates(targetIds: readonly string[]): Promise<Map<string, TargetState>> {
    const found = await this.store.loadTargetStates(targetIds);
    for (const id of targetIds) {
      const held = this.states.get(id);
      if (held) found.set(id, structuredClone(held));
    }
    return found;
  }

  saveTargetStates(states: readonly TargetState[]): Promise<void> {
    return this.write(
      () => this.store.saveTargetStates(states),
      async () => {
        const stored = await this.store.loadTargetStates(states.map((s) => s.targetId));
        for (const s of states) {
          const current = this.states.get(s.targetId)?.version ?? stored.get(s.targetId)?.version ?? 0;
          if (current !== s.version) throw new VersionConflictError(`target state ${s.targetId}`, s.version);
        }
        for (const s of states) this.states.set(s.targetId, structuredClone({ ...s, version: s.version + 1 }));
      },
    );
  }

  // ---- incidents ---------------------------------------------------------------------------------------------

  createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult> {
    return this.write(
      () => this.store.createIncident(incident, timeline),
      async () => {
        const existing = await this.findOpenIncident(incident.dedupKey);
        if (existing) return { created: false, existing };
        if (this.incidents.has(incident.id) || (await this.store.getIncident(incident.id)))
          throw new VersionConflictError(`incident ${incident.id}`, 0);
        const stored: Incident = { ...incident, version: 1 };
        this.incidents.set(incident.id, {
          incident: structuredClone(stored),
          timeline: structuredClone([...timeline]),
          created: true,
          baseVersion: 0,
        });
        return { created: true, incident: structuredClone(stored) };
      },
    );
  }

  updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    return this.write(
      () => this.store.updateIncident(incident, timeline),
      async () => {
        const held = this.incidents.get(incident.id);
        const current = held?.incident ?? (await this.store.getIncident(incident.id));
        if (!current || current.version !== incident.version)
          throw new VersionConflictError(`incident ${incident.id}`, incident.version);
        const stored: Incident = { ...incident, version: incident.version + 1 };
        if (held) {
          held.incident = structuredClone(stored);
          held.timeline.push(...structuredClone([...timeline]));
        } else {
          this.incidents.set(incident.id, {
            incident: structuredClone(stored),
            timeline: structuredClone([...timeline]),
            created: false,
            baseVersion: current.version,
          });
        }
        return structuredClone(stored);
      },
    );
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const held = this.incidents.get(id);
    return held ? structuredClone(held.incident) : this.store.getIncident(id);
  }

  async findOpenIncident(dedupKey: string): Promise<Incident | undefined> {
    for (const held of this.incidents.values())
      if (held.incident.dedupKey === dedupKey && held.incident.status !== 'resolved')
        return structuredClone(held.incident);
    const found = await this.store.findOpenIncident(dedupKey);
    // Held in memory and not open (the loop above): resolved meanwhile.
    return found && this.incidents.has(found.id) ? undefined : found;
  }

  async listOpenIncidents(): Promise<Incident[]> {
    return this.merged(await this.store.listOpenIncidents(), (i) => i.status !== 'resolved').sort(
      (a, b) => a.openedAt - b.openedAt,
    );
  }

  async listIncidentsDue(now: number): Promise<Incident[]> {
    const due = (i: Incident) => (incidentDueAt(i) ?? Number.POSITIVE_INFINITY) <= now;
    return this.merged(await this.store.listIncidentsDue(now), due).sort(
      (a, b) => (incidentDueAt(a) ?? 0) - (incidentDueAt(b) ?? 0),
    );
  }

  async listIncidents(query: { readonly since?: number; readonly limit?: number }): Promise<Incident[]> {
    const stored = await this.store.listIncidents(query.since === undefined ? {} : { since: query.since });
    return this.merged(stored, (i) => query.since === undefined || i.lastSeen >= query.since)
      .sort((a, b) => b.openedAt - a.openedAt)
      .slice(0, query.limit ?? Number.POSITIVE_INFINITY);
  }

  async getTimeline(incidentId: string): Promise<TimelineEntry[]> {
    const held = this.incidents.get(incidentId);
    const stored = held?.created ? [] : await this.store.getTimeline(incidentId);
    return held ? [...stored, ...structuredClone(held.timeline)] : stored;
  }

  // ---- remediation attempts ----------------------------------------------------------------------------------

  recordAttempt(attempt: RemediationAttempt): Promise<void> {
    return this.write(
      () => this.store.recordAttempt(attempt),
      async () => {
        const stored = await this.store.listAttempts([attempt.service], attempt.requestedAt);
        if (this.attempts.has(attempt.id) || stored.some((a) => a.id === attempt.id))
          throw new VersionConflictError(`remediation attempt ${attempt.id}`, 0);
        this.attempts.set(attempt.id, { attempt: structuredClone(attempt), created: true, finished: false });
      },
    );
  }

  finishAttempt(id: string, outcome: 'succeeded' | 'failed', finishedAt: number, detail: string): Promise<boolean> {
    return this.write(
      () => this.store.finishAttempt(id, outcome, finishedAt, detail),
      async () => {
        const held = await this.heldAttempt(id);
        if (held.attempt.outcome !== 'pending') return false;
        held.attempt = { ...held.attempt, outcome, finishedAt, detail };
        held.finished = true;
        return true;
      },
    );
  }

  attachCommand(attemptId: string, commandId: string): Promise<void> {
    return this.write(
      () => this.store.attachCommand(attemptId, commandId),
      async () => {
        const held = await this.heldAttempt(attemptId);
        held.attempt = { ...held.attempt, commandId };
        held.command = commandId;
      },
    );
  }

  async listAttempts(services: readonly string[], since: number): Promise<RemediationAttempt[]> {
    const byId = new Map((await this.store.listAttempts(services, since)).map((a) => [a.id, a]));
    for (const { attempt } of this.attempts.values())
      if (services.includes(attempt.service) && attempt.requestedAt >= since)
        byId.set(attempt.id, structuredClone(attempt));
    return [...byId.values()].sort((a, b) => a.requestedAt - b.requestedAt);
  }

  async findAttemptByCommand(commandId: string): Promise<RemediationAttempt | undefined> {
    for (const { attempt } of this.attempts.values())
      if (attempt.commandId === commandId) return structuredClone(attempt);
    return this.store.findAttemptByCommand(commandId);
  }

  async listPendingAttempts(before: number): Promise<RemediationAttempt[]> {
    const byId = new Map((await this.store.listPendingAttempts(before)).map((a) => [a.id, a]));
    for (const { attempt } of this.attempts.values()) byId.set(attempt.id, structuredClone(attempt));
    return [...byId.values()]
      .filter((a) => a.outcome === 'pending' && a.requestedAt < before)
      .sort((a, b) => a.requestedAt - b.requestedAt);
  }

  // ---- operators' writes: straight through -------------------------------------------------------------------

  setIsolated(service: string, isolated: boolean, by: string, at: number): Promise<void> {
    return this.store.setIsolated(service, isolated, by, at);
  }

  listIsolated(): Promise<Set<string>> {
    return this.store.listIsolated();
  }

  putMaintenanceWindow(window: MaintenanceWindow): Promise<void> {
    return this.store.putMaintenanceWindow(window);
  }

  listMaintenanceWindows(activeAfter: number): Promise<MaintenanceWindow[]> {
    return this.store.listMaintenanceWindows(activeAfter);
  }

  // A lease is worth nothing unless the store holds it: never kept in memory. (The daemon takes none: its own lock
  // and its schedules keep its cycles apart.)
  acquireLease(name: string, holder: string, now: number, until: number): Promise<LeaseClaim> {
    return this.store.acquireLease(name, holder, now, until);
  }

  releaseLease(name: string, holder: string): Promise<boolean> {
    return this.store.releaseLease(name, holder);
  }

  /** Operators' writes, like windows and isolation marks: straight through. */
  appendAudit(entry: AuditEntry): Promise<void> {
    return this.store.appendAudit(entry);
  }

  listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.store.listAudit(query);
  }

  // ---- internals ---------------------------------------------------------------------------------------------

  private pending(): boolean {
    return this.states.size + this.incidents.size + this.attempts.size > 0;
  }

  /**
   * Writes directly while nothing is held in memory (and after writing out what is, if that works); otherwise, or
   * when the direct write fails for a storage reason, applies the change in memory.
   */
  private async write<T>(direct: () => Promise<T>, inMemory: () => Promise<T>): Promise<T> {
    if (await this.flush()) {
      try {
        const result = await direct();
        this.recovered(0);
        return result;
      } catch (error) {
        if (!isStorageFailure(error)) throw error;
        this.failed(error);
      }
    }
    const next = this.inMemoryQueue.catch(() => {}).then(inMemory);
    this.inMemoryQueue = next;
    return next;
  }

  private async heldAttempt(id: string): Promise<PendingAttempt> {
    const held = this.attempts.get(id);
    if (held) return held;
    const stored = (await this.store.listPendingAttempts(Number.MAX_SAFE_INTEGER)).find((a) => a.id === id);
    if (!stored) throw new VersionConflictError(`remediation attempt ${id}`, 1);
    const created: PendingAttempt = { attempt: stored, created: false, finished: false };
    this.attempts.set(id, created);
    return created;
  }

  private merged(stored: readonly Incident[], keep: (incident: Incident) => boolean): Incident[] {
    const byId = new Map(stored.map((i) => [i.id, i]));
    for (const held of this.incidents.values()) byId.set(held.incident.id, structuredClone(held.incident));
    return [...byId.values()].filter(keep);
  }

  /** Oldest kind of change first (health, then incidents, then attempts); stops at the first storage failure. */
  private async writeOut(): Promise<boolean> {
    const count = this.states.size + this.incidents.size + this.attempts.size;
    try {
      if (this.states.size > 0) {
        const held = [...this.states.values()];
        await this.writeOne('target states', async () => {
          const stored = await this.store.loadTargetStates(held.map((s) => s.targetId));
          // The daemon is the only writer of target states: what it holds is the newest.
          await this.store.saveTargetStates(held.map((s) => ({ ...s, version: stored.get(s.targetId)?.version ?? 0 })));
        });
        this.states.clear();
      }
      for (const [id, held] of [...this.incidents]) {
        await this.writeOne(`incident ${id}`, () => this.writeIncident(held));
        this.incidents.delete(id);
      }
      for (const [id, held] of [...this.attempts]) {
        await this.writeOne(`remediation attempt ${id}`, async () => {
          if (held.created) await this.store.recordAttempt(held.attempt);
          else if (held.finished && held.attempt.outcome !== 'pending')
            await this.store.finishAttempt(
              id,
              held.attempt.outcome,
              held.attempt.finishedAt ?? 0,
              held.attempt.detail ?? '',
            );
          if (held.command !== undefined) await this.store.attachCommand(id, held.command);
        });
        this.attempts.delete(id);
      }
    } catch (error) {
      if (!isStorageFailure(error)) throw error;
      this.failed(error);
      return false;
    }
    this.recovered(count);
    return true;
  }

  /** Writes one held change; a refusal for another reason than storage is reported and the change let go. */
  private async writeOne(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isStorageFailure(error)) throw error;
      this.onRefused(what, error);
    }
  }

  private async writeIncident(held: PendingIncident): Promise<void> {
    let written: Incident;
    if (held.created) {
      const result = await this.store.createIncident({ ...held.incident, version: 1 }, held.timeline);
      // Someone opened one for the same problem meanwhile (an operator's declare): keep our record on theirs.
      if (!result.created) {
        await this.store.updateIncident(result.existing, held.timeline);
        return;
      }
      written = result.incident;
    } else {
      const stored = await this.store.getIncident(held.incident.id);
      if (!stored) return;
      if (stored.version !== held.baseVersion) {
        await this.store.updateIncident(stored, held.timeline);
        return;
      }
      written = await this.store.updateIncident({ ...held.incident, version: stored.version }, held.timeline);
    }
    // Bring the stored version up to the one handed out from memory: a writer still holding an older copy from
    // memory must lose its race against the store as it would have against memory.
    while (written.version < held.incident.version) written = await this.store.updateIncident(written, []);
  }

  private failed(error: unknown): void {
    if (this.failure) return;
    this.failure = { since: this.clock.now(), error: describe(error) };
    this.onChange(this.status());
  }

  private recovered(written: number): void {
    if (!this.failure) return;
    const { since, error } = this.failure;
    this.failure = undefined;
    this.onChange({ writable: true, pendingChanges: written, since, error });
  }
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = errorMessage(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
