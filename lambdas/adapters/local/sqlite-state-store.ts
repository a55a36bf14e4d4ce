import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AUDIT_DEFAULT_LIMIT, type AuditEntry, type AuditQuery } from '../../core/audit.ts';
import { errorCode, errorMessage, StateUnavailableError, VersionConflictError } from '../../core/errors.ts';
import type { MaintenanceWindow } from '../../core/escalation.ts';
import type { TargetState } from '../../core/health-state.ts';
import type { Incident, TimelineEntry } from '../../core/incident.ts';
import { checkLeaseRequest } from '../../core/lease.ts';
import { incidentDueAt } from '../../core/notices.ts';
import type { RemediationAttempt } from '../../core/remediation.ts';
import type { ControlStore, CreateIncidentResult, IncidentStore, LeaseClaim, TargetStateStore } from '../../ports.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS target_states (
  target_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY,
  dedup_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  opened_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  next_at INTEGER,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
);
-- One open incident per dedup key, enforced by the database itself.
CREATE UNIQUE INDEX IF NOT EXISTS incidents_open_key ON incidents (dedup_key) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS incidents_next_at ON incidents (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS incidents_opened_at ON incidents (opened_at);
CREATE TABLE IF NOT EXISTS timeline (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL REFERENCES incidents (id),
  at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_incident ON timeline (incident_id, seq);
CREATE TABLE IF NOT EXISTS attempts (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_pending ON attempts (requested_at) WHERE outcome = 'pending';
CREATE INDEX IF NOT EXISTS attempts_service ON attempts (service, requested_at);
CREATE TABLE IF NOT EXISTS attempt_commands (command_id TEXT PRIMARY KEY, attempt_id TEXT NOT NULL REFERENCES attempts (id));
CREATE TABLE IF NOT EXISTS isolation (service TEXT PRIMARY KEY, isolated_by TEXT NOT NULL, isolated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS maintenance (id TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at, seq);
`;

interface Row {
  body: string;
}

export interface SqliteStateStoreOptions {
  /**
   * Open an existing store for reading only (operator commands that only look): nothing is created, a missing,
   * empty or foreign file is refused, and every write fails.
   * @default false
   */
  readonly readOnly?: boolean;
}

/**
 * Embedded state for the single-host control plane: SQLite in WAL mode with full fsync, so a kill -9 at any point
 * loses no committed write; every multi-row change is one transaction, so nothing is ever half-written. Several
 * processes (the daemon and operator commands) may open the same file; writers wait for each other.
 *
 * Opening never repairs or overwrites: an empty, corrupt or foreign file, or a directory where SQLite cannot create
 * its WAL files, is a `StateUnavailableError` naming the file, what is wrong and what to do. A new store is built
 * under a temporary name and linked into place, so a zero-byte `state.db` is never one of ours being born.
 */
export class SqliteStateStore implements TargetStateStore, IncidentStore, ControlStore {
  private readonly db: Database.Database;
  stateWrites = 0;

  constructor(file: string, options: SqliteStateStoreOptions = {}) {
    this.db = file === ':memory:' ? createSchema(new Database(file)) : openStateFile(file, options.readOnly ?? false);
  }

  close(): void {
    this.db.close();
  }

  async loadTargetStates(targetIds: readonly string[]): Promise<Map<string, TargetState>> {
    const get = this.db.prepare('SELECT body FROM target_states WHERE target_id = ?');
    const found = new Map<string, TargetState>();
    for (const id of targetIds) {
      const row = get.get(id) as Row | undefined;
      if (row) found.set(id, JSON.parse(row.body) as TargetState);
    }
    return found;
  }

  async saveTargetStates(states: readonly TargetState[]): Promise<void> {
    const insert = this.db.prepare(
      'INSERT INTO target_states (target_id, version, body) VALUES (?, 1, ?) ON CONFLICT (target_id) DO NOTHING',
    );
    const update = this.db.prepare(
      'UPDATE target_states SET version = ?, body = ? WHERE target_id = ? AND version = ?',
    );
    this.db.transaction(() => {
      for (const s of states) {
        const body = JSON.stringify({ ...s, version: s.version + 1 });
        const changes =
          s.version === 0
            ? insert.run(s.targetId, body).changes
            : update.run(s.version + 1, body, s.targetId, s.version).changes;
        if (changes !== 1) throw new VersionConflictError(`target state ${s.targetId}`, s.version);
      }
    })();
    this.stateWrites += states.length;
  }

  async createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult> {
    const stored: Incident = { ...incident, version: 1 };
    const insert = this.db.prepare(
      `INSERT INTO incidents (id, dedup_key, status, opened_at, last_seen, next_at, version, body)
       VALUES (@id, @dedupKey, @status, @openedAt, @lastSeen, @nextAt, 1, @body)
       ON CONFLICT DO NOTHING`,
    );
    const created = this.db.transaction(() => {
      const changes = insert.run(incidentRow(stored)).changes;
      if (changes === 0) return false;
      this.appendTimeline(stored.id, timeline);
      return true;
    })();
    if (created) return { created: true, incident: stored };
    const existing = await this.findOpenIncident(incident.dedupKey);
    if (!existing) throw new VersionConflictError(`incident ${incident.id}`, 0);
    return { created: false, existing };
  }

  async updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    const stored: Incident = { ...incident, version: incident.version + 1 };
    const update = this.db.prepare(
      `UPDATE incidents SET status = @status, last_seen = @lastSeen, next_at = @nextAt, version = @version, body = @body
       WHERE id = @id AND version = @expected`,
    );
    this.db.transaction(() => {
      const changes = update.run({
        ...incidentRow(stored),
        version: stored.version,
        expected: incident.version,
      }).changes;
      if (changes !== 1) throw new VersionConflictError(`incident ${incident.id}`, incident.version);
      this.appendTimeline(stored.id, timeline);
    })();
    return stored;
  }

  private appendTimeline(incidentId: string, entries: readonly TimelineEntry[]): void {
    const insert = this.db.prepare('INSERT INTO timeline (incident_id, at, body) VALUES (?, ?, ?)');
    for (const e of entries) insert.run(incidentId, e.at, JSON.stringify(e));
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const row = this.db.prepare('SELECT body FROM incidents WHERE id = ?').get(id) as Row | undefined;
    return row && parseIncident(row);
  }

  async findOpenIncident(dedupKey: string): Promise<Incident | undefined> {
    const row = this.db
      .prepare("SELECT body FROM incidents WHERE dedup_key = ? AND status <> 'resolved'")
      .get(dedupKey) as Row | undefined;
    return row && parseIncident(row);
  }

  async listOpenIncidents(): Promise<Incident[]> {
    const rows = this.db
      .prepare("SELECT body FROM incidents WHERE status <> 'resolved' ORDER BY opened_at")
      .all() as Row[];
    return rows.map(parseIncident);
  }

  async listIncidentsDue(now: number): Promise<Incident[]> {
    const rows = this.db
      .prepare('SELECT body FROM incidents WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at')
      .all(now) as Row[];
    return rows.map(parseIncident);
  }

  async listIncidents(query: { readonly since?: number; readonly limit?: number }): Promise<Incident[]> {
    const rows = this.db
      .prepare('SELECT body FROM incidents WHERE last_seen >= ? ORDER BY opened_at DESC LIMIT ?')
      .all(query.since ?? 0, query.limit ?? -1) as Row[];
    return rows.map(parseIncident);
  }

  async getTimeline(incidentId: string): Promise<TimelineEntry[]> {
    const rows = this.db
      .prepare('SELECT body FROM timeline WHERE incident_id = ? ORDER BY seq')
      .all(incidentId) as Row[];
    return rows.map((r) => JSON.parse(r.body) as TimelineEntry);
  }

  async recordAttempt(attempt: RemediationAttempt): Promise<void> {
    const changes = this.db
      .prepare(
        'INSERT INTO attempts (id, service, requested_at, outcome, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      )
      .run(attempt.id, attempt.service, attempt.requestedAt, attempt.outcome, JSON.stringify(attempt)).changes;
    if (changes !== 1) throw new VersionConflictError(`remediation attempt ${attempt.id}`, 0);
  }

  async finishAttempt(
    id: string,
    outcome: 'succeeded' | 'failed',
    finishedAt: number,
    detail: string,
  ): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT body FROM attempts WHERE id = ?').get(id) as Row | undefined;
      if (!row) throw new VersionConflictError(`remediation attempt ${id}`, 1);
      const current = JSON.parse(row.body) as RemediationAttempt;
      if (current.outcome !== 'pending') return false;
      const updated = { ...current, outcome, finishedAt, detail };
      this.db
        .prepare('UPDATE attempts SET outcome = ?, body = ? WHERE id = ?')
        .run(outcome, JSON.stringify(updated), id);
      return true;
    })();
  }

  async listAttempts(services: readonly string[], since: number): Promise<RemediationAttempt[]> {
    const get = this.db.prepare(
      'SELECT body FROM attempts WHERE service = ? AND requested_at >= ? ORDER BY requested_at',
    );
    return services.flatMap((s) => (get.all(s, since) as Row[]).map((r) => JSON.parse(r.body) as RemediationAttempt));
  }

  async attachCommand(attemptId: string, commandId: string): Promise<void> {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT body FROM attempts WHERE id = ?').get(attemptId) as Row | undefined;
      if (!row) throw new VersionConflictError(`remediation attempt ${attemptId}`, 1);
      const updated = { ...(JSON.parse(row.body) as RemediationAttempt), commandId };
      this.db.prepare('UPDATE attempts SET body = ? WHERE id = ?').run(JSON.stringify(updated), attemptId);
      this.db
        .prepare('INSERT INTO attempt_commands (command_id, attempt_id) VALUES (?, ?) ON CONFLICT DO NOTHING')
        .run(commandId, attemptId);
    })();
  }

  async findAttemptByCommand(commandId: string): Promise<RemediationAttempt | undefined> {
    const row = this.db
      .prepare('SELECT a.body FROM attempt_commands c JOIN attempts a ON a.id = c.attempt_id WHERE c.command_id = ?')
      .get(commandId) as Row | undefined;
    return row && (JSON.parse(row.body) as RemediationAttempt);
  }

  async listPendingAttempts(before: number): Promise<RemediationAttempt[]> {
    const rows = this.db
      .prepare("SELECT body FROM attempts WHERE outcome = 'pending' AND requested_at < ? ORDER BY requested_at")
      .all(before) as Row[];
    return rows.map((r) => JSON.parse(r.body) as RemediationAttempt);
  }

  async setIsolated(service: string, isolated: boolean, by: string, at: number): Promise<void> {
    if (isolated) {
      this.db
        .prepare(
          'INSERT INTO isolation (service, isolated_by, isolated_at) VALUES (?, ?, ?) ON CONFLICT (service) DO NOTHING',
        )
        .run(service, by, at);
    } else {
      this.db.prepare('DELETE FROM isolation WHERE service = ?').run(service);
    }
  }

  async listIsolated(): Promise<Set<string>> {
    const rows = this.db.prepare('SELECT service FROM isolation').all() as { service: string }[];
    return new Set(rows.map((r) => r.service));
  }

  async putMaintenanceWindow(window: MaintenanceWindow): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO maintenance (id, ends_at, body) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at, body = excluded.body',
      )
      .run(window.id, window.endsAt, JSON.stringify(window));
  }

  async listMaintenanceWindows(activeAfter: number): Promise<MaintenanceWindow[]> {
    const rows = this.db
      .prepare('SELECT body FROM maintenance WHERE ends_at > ? ORDER BY ends_at')
      .all(activeAfter) as Row[];
    return rows.map((r) => JSON.parse(r.body) as MaintenanceWindow);
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<LeaseClaim> {
    checkLeaseRequest(name, holder, now, until);
    // One write transaction: the upsert and, when it was refused, the read of who holds the lease see the same row.
    return this.db
      .transaction((): LeaseClaim => {
        const changes = this.db
          .prepare(
            `INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.until <= @now OR leases.holder = excluded.holder`,
          )
          .run({ name, holder, until, now }).changes;
        if (changes === 1) return { acquired: true };
        const row = this.db.prepare('SELECT holder, until FROM leases WHERE name = ?').get(name) as
          | { holder: string; until: number }
          | undefined;
        if (!row) throw new Error(`lease ${name}: refused, yet not held`);
        return { acquired: false, holder: row.holder, until: row.until };
      })
      .immediate();
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder).changes === 1;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.db.prepare('INSERT INTO audit (at, body) VALUES (?, ?)').run(entry.at, JSON.stringify(entry));
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    // A store written by an older build, opened read-only, has no audit table yet (writers add it): no entries.
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").get();
    if (exists === undefined) return [];
    const rows = this.db
      .prepare('SELECT body FROM audit WHERE at >= ? ORDER BY at DESC, seq DESC LIMIT ?')
      .all(query.since ?? 0, query.limit ?? AUDIT_DEFAULT_LIMIT) as Row[];
    return rows.map((r) => JSON.parse(r.body) as AuditEntry);
  }
}

function incidentRow(incident: Incident) {
  return {
    id: incident.id,
    dedupKey: incident.dedupKey,
    status: incident.status,
    openedAt: incident.openedAt,
    lastSeen: incident.lastSeen,
    // The due index: the escalation's timer or the first notice owed (a resolved incident may still owe one).
    nextAt: incidentDueAt(incident) ?? null,
    body: JSON.stringify(incident),
  };
}

function parseIncident(row: Row): Incident {
  return JSON.parse(row.body) as Incident;
}

/** Tables, indexes and the schema version of a new store. */
function createSchema(db: Database.Database): Database.Database {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING').run(
    'schema_version',
    String(SCHEMA_VERSION),
  );
  return db;
}

function openStateFile(file: string, readOnly: boolean): Database.Database {
  if (!readOnly) createIfMissing(file);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw describeOpenError(file, error);
  }
  if (size === 0)
    throw new StateUnavailableError(
      `state file ${file} is empty (0 bytes), so it holds no control-plane state: move it away (it is left as it is)`,
    );
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: readOnly, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    checkSchemaVersion(db, file);
    // Writers also add any table or index newer than the store; existing ones are left alone.
    return readOnly ? db : createSchema(db);
  } catch (error) {
    db?.close();
    if (error instanceof StateUnavailableError) throw error;
    if (readOnly && errorCode(error) === 'SQLITE_CANTOPEN' && !canWrite(dirname(file))) return openImage(file, error);
    throw describeOpenError(file, error);
  }
}

/**
 * A WAL store in a directory where SQLite cannot create its -shm file (a read-only mount, an immutable directory)
 * and without a write-ahead log: the file alone holds all of it, and nothing can write it while the directory stays
 * read-only. It is read whole into memory, the way SQLite's `immutable=1` would read it without locks. (That URI
 * parameter is out of reach: better-sqlite3 builds SQLite with SQLITE_USE_URI=0 and opens without
 * SQLITE_OPEN_URI, so `file:...?immutable=1` names a file; only SQLITE_USE_URI=1 in the environment before the
 * addon first loads turns URIs on, for the whole process.) A write-ahead log there may hold committed changes the
 * file lacks, and SQLite reads it only with its -shm file: that is refused rather than read stale.
 */
function openImage(file: string, cause: unknown): Database.Database {
  const wal = `${file}-wal`;
  const walBytes = existsSync(wal) ? statSync(wal).size : 0;
  if (walBytes > 0)
    throw new StateUnavailableError(
      `cannot open state file ${file}: its directory is read-only and its write-ahead log ${wal} (${walBytes} bytes) cannot be read without the ${file}-shm file SQLite would create there: make it writable`,
      { cause },
    );
  let image: Buffer;
  try {
    image = readFileSync(file);
  } catch (error) {
    throw describeOpenError(file, error);
  }
  // Header bytes 18 and 19 say WAL (2); an in-memory copy opens only in rollback mode (1), which reads the same pages.
  if (image[18] === 2 && image[19] === 2) image.fill(1, 18, 20);
  let db: Database.Database | undefined;
  try {
    db = new Database(image, { readonly: true });
    checkSchemaVersion(db, file);
    return db;
  } catch (error) {
    db?.close();
    throw error instanceof StateUnavailableError ? error : describeOpenError(file, error);
  }
}

/** A store that is not there yet is built beside it and linked into place: never seen half-made, never clobbered. */
function createIfMissing(file: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(file)) return;
    const temp = join(dir, `.${basename(file)}.${process.pid}.${randomUUID()}.tmp`);
    try {
      createSchema(new Database(temp)).close();
      try {
        linkSync(temp, file);
      } catch (error) {
        // Another process created it first: use theirs.
        if (errorCode(error) !== 'EEXIST') throw error;
      }
    } finally {
      for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`]) rmSync(leftover, { force: true });
    }
  } catch (error) {
    throw describeOpenError(file, error);
  }
}

function checkSchemaVersion(db: Database.Database, file: string): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (hasMeta === undefined)
    throw new StateUnavailableError(
      `state file ${file} is an SQLite database but not control-plane state (no meta table): move it away`,
    );
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
  if (row !== undefined && Number(row.value) !== SCHEMA_VERSION)
    throw new StateUnavailableError(
      `state file ${file} has schema version ${row.value}; this build reads version ${SCHEMA_VERSION}: use a build that matches`,
    );
}

/** One line: the file, what is wrong with it, and what to do. */
function describeOpenError(file: string, error: unknown): StateUnavailableError {
  const code = errorCode(error);
  const options = { cause: error };
  if (code === 'ENOENT') return new StateUnavailableError(`no state file ${file}`, options);
  if (code === 'ENOTDIR')
    return new StateUnavailableError(`cannot open state file ${file}: a parent of it is a file`, options);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new StateUnavailableError(
      `state file ${file} is not an SQLite database (corrupt, or some other file): move it away or restore a copy`,
      options,
    );
  if (code === 'EROFS' || !canWrite(dirname(file)))
    return new StateUnavailableError(
      `cannot open state file ${file}: its directory is read-only (SQLite needs to create its -wal and -shm files there): make it writable`,
      options,
    );
  if (code === 'EACCES' || code === 'EPERM' || !canRead(file))
    return new StateUnavailableError(`cannot open state file ${file}: permission denied`, options);
  const message = errorMessage(error);
  return new StateUnavailableError(`cannot open state file ${file}: ${message}${code ? ` (${code})` : ''}`, options);
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch (error) {
    return errorCode(error) === 'ENOENT';
  }
}

function canRead(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
