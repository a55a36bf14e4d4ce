/**
 * Ports: what the use-cases need from the outside world. Adapters implement them (AWS: DynamoDB, SNS, SSM,
 * EventBridge; local: SQLite, console/file/webhook, shell; memory: tests and one-shot commands).
 */
import type { AuditEntry, AuditQuery } from './core/audit.ts';
import type { MaintenanceWindow, Page } from './core/escalation.ts';
import type { ControlPlaneEvent } from './core/events.ts';
import type { TargetState } from './core/health-state.ts';
import type { Incident, TimelineEntry } from './core/incident.ts';
import type { NoticeKind, NoticeMessage } from './core/notices.ts';
import type { ProbeResult } from './core/probe-evaluation.ts';
import type { RemediationAttempt } from './core/remediation.ts';
import type { SecretRef } from './core/secret-ref.ts';
import type { Target } from './core/targets.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ProbeOptions {
  /** Hard per-probe timeout: a probe never takes longer than this, whatever the target does. */
  readonly timeoutMs: number;
  /** Slower healthy answers are `degraded` with reason `latency`. */
  readonly slowAfterMs: number;
  /** Fires when the caller gives up on the probe (its hard deadline): release sockets at once. */
  readonly signal?: AbortSignal;
}

/** Probes one target. Never throws: every failure is a result with a reason. */
export interface Prober {
  probe(target: Target, options: ProbeOptions): Promise<ProbeResult>;
}

/**
 * Target health states. Shaped for DynamoDB as much as SQLite: a batch read, and conditional writes on `version`
 * (a state read at version v is written as v + 1 only if it is still v; 0 means "must not exist yet").
 */
export interface TargetStateStore {
  loadTargetStates(targetIds: readonly string[]): Promise<Map<string, TargetState>>;
  /** Writes each state with `version` bumped by one; throws VersionConflictError if any was changed meanwhile. */
  saveTargetStates(states: readonly TargetState[]): Promise<void>;
}

export type CreateIncidentResult =
  | { readonly created: true; readonly incident: Incident }
  | { readonly created: false; readonly existing: Incident };

/**
 * Incidents and their append-only timelines. One open incident per dedup key is enforced by the store (DynamoDB:
 * a transaction with an `attribute_not_exists` guard item per open key; SQLite: a unique partial index).
 */
export interface IncidentStore {
  /** Creates the incident unless one with the same dedup key is open; then returns that one instead. */
  createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult>;
  /**
   * Replaces the incident if its stored version is still `incident.version`, storing it as version + 1 and appending
   * the timeline entries in the same write; resolving releases the dedup key. Throws VersionConflictError otherwise.
   */
  updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident>;
  getIncident(id: string): Promise<Incident | undefined>;
  findOpenIncident(dedupKey: string): Promise<Incident | undefined>;
  /** Every incident not resolved. */
  listOpenIncidents(): Promise<Incident[]>;
  /** Incidents whose escalation `nextAt` is at or before `now` (a sparse index in DynamoDB). */
  listIncidentsDue(now: number): Promise<Incident[]>;
  /** Most recent first. */
  listIncidents(query: { readonly since?: number; readonly limit?: number }): Promise<Incident[]>;
  getTimeline(incidentId: string): Promise<TimelineEntry[]>;
}

/**
 * Remediation attempts, isolation marks, maintenance windows and the audit trail: what operators and the breaker
 * rely on.
 */
export interface ControlStore {
  recordAttempt(attempt: RemediationAttempt): Promise<void>;
  /** Finishes a pending attempt; false when it had already finished (a late or repeated outcome changes nothing). */
  finishAttempt(id: string, outcome: 'succeeded' | 'failed', finishedAt: number, detail: string): Promise<boolean>;
  listAttempts(services: readonly string[], since: number): Promise<RemediationAttempt[]>;
  /** Records the id of the asynchronous command carrying out an attempt, so its outcome can find the attempt. */
  attachCommand(attemptId: string, commandId: string): Promise<void>;
  findAttemptByCommand(commandId: string): Promise<RemediationAttempt | undefined>;
  /** Attempts still pending that were requested before `before`. */
  listPendingAttempts(before: number): Promise<RemediationAttempt[]>;
  setIsolated(service: string, isolated: boolean, by: string, at: number): Promise<void>;
  listIsolated(): Promise<Set<string>>;
  putMaintenanceWindow(window: MaintenanceWindow): Promise<void>;
  listMaintenanceWindows(activeAfter: number): Promise<MaintenanceWindow[]>;
  /**
   * Takes the lease `name` for `holder` until `until` (epoch ms), with one conditional write: granted when no one
   * holds it, when its holder's time ran out (`until` at or before `now`), or when `holder` holds it already (then
   * it is renewed to the new `until`). Otherwise nothing is written and the answer names the holder and its `until`.
   * `now` is the caller's clock, so a lease taken by a crashed holder lapses by itself.
   */
  acquireLease(name: string, holder: string, now: number, until: number): Promise<LeaseClaim>;
  /** Gives the lease up if `holder` still holds it; false when it does not (it lapsed, and perhaps was taken). */
  releaseLease(name: string, holder: string): Promise<boolean>;
  /** Appends one entry to the audit trail (bounded by the caller: `boundedAuditEntry`); kept like the history. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** The newest entries at or after `since`, newest first, at most `limit` (default 100). */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
}

export type LeaseClaim =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly holder: string; readonly until: number };

export interface Notification {
  readonly page: Page;
  readonly incident: Incident;
  /** The incident's timeline so far: what was done, for the message. */
  readonly recent: readonly TimelineEntry[];
  /** Only this channel (`acgs-ops escalation test --channel NAME`); every channel carrying the level when absent. */
  readonly onlyChannel?: string;
}

/** Delivers pages (SNS topic per level in AWS; console, JSON-lines file, webhook, email locally). */
export interface Notifier {
  /**
   * The longest one `notify` call takes, whatever the channel does: the adapter enforces it. A step delivering pages
   * holds its lease for this per attempt, so a crashed delivery is redone soon after, not minutes later.
   */
  readonly deliveryTimeoutMs: number;
  notify(notification: Notification): Promise<void>;
  /** The channels whose config routes notices of this kind (`events`); none when no channel wants them. */
  noticeChannels(kind: NoticeKind): readonly string[];
  /**
   * Sends one notice through one channel, within that channel's timeout; throws when it did not get through.
   * Idempotent per `message.key` where the channel allows it (PagerDuty dedup_key, a webhook's Idempotency-Key,
   * an email's Message-ID), so a retry after a crash does not show twice.
   */
  sendNotice(channel: string, message: NoticeMessage): Promise<void>;
}

export interface CommandRequest {
  /** Name of the SSM document (in `ssm-documents/`). */
  readonly document: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface CommandResult {
  /**
   * `pending`: accepted and running asynchronously (SSM Run Command from a Lambda); the outcome arrives later, by
   * the command's id, through `finishRemediation`. Every other status is final.
   */
  readonly status: 'succeeded' | 'failed' | 'timed-out' | 'rejected' | 'pending';
  readonly exitCode?: number;
  readonly output: string;
  readonly commandId?: string;
}

/** Runs an SSM document: SSM Run Command in AWS, the same document through a local shell runner on one host. */
export interface CommandRunner {
  run(request: CommandRequest): Promise<CommandResult>;
}

/** Publishes the control plane's events (EventBridge in AWS; the daemon's log locally). */
export interface EventPublisher {
  publish(events: readonly ControlPlaneEvent[]): Promise<void>;
}

/** Where backups' manifests, drill reports and other artefacts are kept (S3 in AWS; files locally). */
export interface ObjectStore {
  /** Stores the object, replacing any with that key. */
  put(key: string, body: Uint8Array | string, options?: PutObjectOptions): Promise<PutObjectResult>;
  get(key: string): Promise<StoredObject | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * SHA-256 (hex) of the content as it is stored now, where the store can tell cheaply: the file store re-reads the
   * file unless its hash cache holds the hash of this very file as it is now (same device, inode, size, and mtime
   * and ctime to the nanosecond: any write changes them), unless `fresh`; a sidecar written at put time would vouch
   * for bytes since altered in place. S3 gives the full-object checksum it verified on arrival. Undefined when the object is absent or the store keeps no such checksum (an
   * S3 object uploaded without one, or in parts).
   */
  contentSha256(key: string, options?: ContentSha256Options): Promise<string | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectSummary[]>;
  /** Deleting an object that does not exist is not an error. */
  delete(key: string): Promise<void>;
}

export interface ContentSha256Options {
  /**
   * Read the content again even where the store keeps an answer it trusts (the file store's hash cache): for the
   * scrub that catches bit rot, and before a prune deletes anything. @default false
   */
  readonly fresh?: boolean;
}

export interface PutObjectOptions {
  /** @default application/octet-stream */
  readonly contentType?: string;
  /** Hex SHA-256 the caller expects the content to have (from a manifest): a mismatch is refused, nothing stored. */
  readonly sha256?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface PutObjectResult {
  readonly key: string;
  readonly size: number;
  /** Hex SHA-256 of the content, as S3 verified it on arrival. */
  readonly sha256: string;
  readonly etag?: string;
}

export interface ObjectSummary {
  readonly key: string;
  readonly size: number;
  /** Epoch milliseconds. */
  readonly lastModified: number;
  readonly etag?: string;
}

export interface ObjectInfo extends ObjectSummary {
  readonly contentType?: string;
  /** Hex SHA-256 of the content, when S3 keeps one (objects put by this store always have one). */
  readonly sha256?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface StoredObject extends ObjectInfo {
  readonly body: Uint8Array;
}

/**
 * What a probe (or a channel) needs a secret for, with every place it may be kept: the adapter reads the one it
 * serves. Names only, never a value.
 */
export interface SecretRequest {
  /** What the secret is, for messages: `the password of check "postgres"`. */
  readonly purpose: string;
  /** One host: the environment variable holding it. */
  readonly env?: string;
  /** AWS: the Secrets Manager secret holding it. */
  readonly secret?: SecretRef;
  /** One host, PostgreSQL: the connection a pgpass entry is looked up for when `env` is absent or unset. */
  readonly pgpass?: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
  };
}

export interface SecretReadOptions {
  /**
   * Read the secret again rather than from the cache: the consumer's credentials were just refused (PostgreSQL
   * SQLSTATE 28P01), so the secret may have been rotated since it was read. @default false
   */
  readonly fresh?: boolean;
}

/**
 * Secrets the probes and channels need (Secrets Manager in AWS, read once per cold start; environment variables
 * and the pgpass file on one host; a map in tests). Undefined when the request names no place this source reads, or
 * that place holds nothing (an unset variable, no matching pgpass line). Throws SecretError when the place exists
 * but cannot be read (access denied, a pgpass file others can read, a JSON secret without the field); the message
 * names the place, never the value.
 */
export interface SecretSource {
  get(request: SecretRequest, options?: SecretReadOptions): Promise<string | undefined>;
}
