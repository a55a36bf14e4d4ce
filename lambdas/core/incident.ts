import type { Contact, Severity } from './config-schema.ts';
import type { NoticeKind } from './fleet-constants.ts';

/**
 * The incident record and its typed timeline. Kept small: the timeline is stored apart (append-only), so a long
 * outage bumps `count` / `lastSeen` without growing the record.
 */
export type IncidentKind =
  | 'service-down'
  | 'service-degraded'
  | 'performance'
  | 'dependency-down'
  | 'dependency-degraded'
  | 'host-outage'
  | 'fleet-outage'
  | 'flapping'
  | 'security'
  | 'manual'
  | 'backup'
  | 'drill'
  /** A synthetic incident of `acgs-ops escalation test`: paged once, never escalated, closed by its acknowledgement. */
  | 'test';

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

export interface Incident {
  readonly id: string;
  /** Immutable identity of what is wrong (`<name>:<check>@<host>`, `fleet-outage@<fleet>`...), never severity. */
  readonly dedupKey: string;
  readonly kind: IncidentKind;
  readonly title: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  /** Probe targets this incident covers (for groups: the trigger and every absorbed target). */
  readonly targets: readonly string[];
  /** Services impacted, by name. */
  readonly services: readonly string[];
  readonly host?: string;
  readonly flapping: boolean;
  /** Last problem detail seen (one sentence). */
  readonly detail: string;
  /** Number of reports folded into this incident. */
  readonly count: number;
  /** When the failure started (first bad probe result), for MTTD and MTTR. */
  readonly failingSince: number;
  readonly openedAt: number;
  readonly lastSeen: number;
  /** Respond (acknowledge or resolve) by this time, or the response SLA is breached. */
  readonly slaDueAt: number;
  /** The `slaDueAt` whose breach is on the timeline (`sla-breached`, recorded once by the sweep). */
  readonly slaBreached?: number;
  readonly acknowledgedAt?: number;
  readonly acknowledgedBy?: string;
  readonly resolvedAt?: number;
  readonly resolvedBy?: string;
  readonly resolution?: string;
  readonly escalation: EscalationState;
  /** Services whose restart breaker tripped while this incident was open (escalated once each). */
  readonly breakerTripped: readonly string[];
  /** Lifecycle notices still owed to some channel (`core/notices.ts`); absent or empty when all went out. */
  readonly notices?: readonly Notice[];
  readonly version: number;
}

/** The escalation rules frozen onto an incident when it opens (`freezePolicy` in `core/escalation.ts`). */
export interface EscalationPolicy {
  readonly levels: readonly {
    readonly level: number;
    readonly name: string;
    readonly responseTime: Partial<Record<Severity, number | undefined>>;
    readonly contacts: readonly Contact[];
  }[];
  readonly firstPage: Record<Severity, { readonly throughLevel: number; readonly roles: readonly Contact['role'][] }>;
  readonly repeatEvery: number;
  readonly ackTimeout: Record<Severity, number>;
  readonly responseTime: Record<Severity, number>;
}

/** One lifecycle notice and where its delivery stands. */
export interface Notice {
  /** Unique within its incident or window; with the subject's id it is the idempotency key channels see. */
  readonly key: string;
  readonly kind: NoticeKind;
  readonly at: number;
  /** Who acted (acknowledged, wrote the update, resolved). */
  readonly by?: string;
  /** The update's text, the resolution, what the breach was. */
  readonly text?: string;
  /** The level paged, for `escalated`. */
  readonly level?: number;
  /** Channels that have it. */
  readonly done: readonly string[];
  /** Channels given up on after the last attempt (reported, never retried). */
  readonly failed?: readonly string[];
  /** Delivery rounds tried so far (for the backoff). */
  readonly attempts: number;
  /** When the next delivery round is due. */
  readonly nextAt: number;
  /** A deliverer holds it until then (a crashed one's lease lapses). */
  readonly leaseUntil?: number;
}

/** Where an incident's escalation stands; `core/escalation.ts` moves it on. */
export interface EscalationState {
  readonly policy: EscalationPolicy;
  /** Highest level paged so far; 0 before the first page. */
  readonly level: number;
  /** When the sweep must look at this incident next; absent once resolved. */
  readonly nextAt?: number;
  /** The next escalation step's own time while `nextAt` is brought in to the SLA's due time (`core/escalation.ts`). */
  readonly stepAt?: number;
  /** A first page for the current severity is owed (new incident, or its severity rose). */
  readonly pending?: 'opened' | 'severity-raised';
  readonly pages: number;
  /** The window that deferred the next step (its end is `nextAt`); ending the window early brings `nextAt` in. */
  readonly mutedBy?: string;
  /** A step is delivering pages until then: nobody else may take a step before it ends (or expires, after a crash). */
  readonly leaseUntil?: number;
  /** Consecutive steps whose pages all failed to go out. */
  readonly deliveryFailures?: number;
  /**
   * Pages (`pageKey`) already delivered, and recorded, by a step that has not settled: a step redone after a crash
   * leaves them out instead of paging the same people twice. Cleared when a step settles.
   */
  readonly delivered?: readonly string[];
}

/** The runbook's "Security Alert" steps, in order: the checklist a security incident carries (core/security-checklist.ts). */
export const SECURITY_STEPS = ['isolate', 'assess', 'contain', 'investigate', 'recover', 'report'] as const;

export type SecurityStep = (typeof SECURITY_STEPS)[number];

/** How a procedure ended, as the timeline and the audit trail record it. */
export type ProcedureOutcome = 'succeeded' | 'failed' | 'timed-out' | 'rejected' | 'pending';

export type TimelineEntry = { readonly at: number } & (
  | { readonly type: 'opened'; readonly severity: Severity; readonly detail: string }
  | { readonly type: 'severity-raised'; readonly from: Severity; readonly to: Severity; readonly detail: string }
  | { readonly type: 'impact-changed'; readonly added: readonly string[] }
  | { readonly type: 'flapping'; readonly flapping: boolean }
  | {
      readonly type: 'paged';
      readonly level: number;
      readonly levelName: string;
      readonly contacts: readonly string[];
      readonly why: PageReason;
    }
  | { readonly type: 'page-muted'; readonly until: number; readonly window: string }
  | { readonly type: 'acknowledged'; readonly by: string; readonly note?: string }
  | { readonly type: 'ack-expired' }
  | {
      readonly type: 'remediation';
      readonly action: string;
      readonly service: string;
      readonly outcome: 'requested' | 'succeeded' | 'failed' | 'skipped';
      readonly detail: string;
    }
  | { readonly type: 'breaker-open'; readonly service: string; readonly restarts: number; readonly windowMs: number }
  | { readonly type: 'note'; readonly by: string; readonly text: string }
  /** An operator procedure (restart, stop, isolate, restore, ...) run on services this incident covers. */
  | {
      readonly type: 'procedure';
      readonly by: string;
      /** The procedure, as the audit trail names it: `service.restart`, `fleet.stop-all`, `backup.restore`, ... */
      readonly action: string;
      readonly services: readonly string[];
      readonly outcome: ProcedureOutcome;
      readonly detail: string;
    }
  /** A step of the security checklist (`core/security-checklist.ts`) ticked off. */
  | { readonly type: 'checklist'; readonly by: string; readonly step: SecurityStep; readonly note?: string }
  | { readonly type: 'resolved'; readonly by: string; readonly resolution: string }
  /** The response SLA (`dueAt`) passed unacknowledged; `level` is the level the breach escalated to, if it paged. */
  | { readonly type: 'sla-breached'; readonly severity: Severity; readonly dueAt: number; readonly level?: number }
);

export type PageReason =
  | 'opened'
  | 'escalated'
  | 'repeated'
  | 'ack-expired'
  | 'severity-raised'
  | 'breaker-open'
  | 'sla-breached'
  | 'test';

const SEVERITY_RANK: Record<Severity, number> = { P1: 3, P2: 2, P3: 1 };

export function higherSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

export function isMoreSevere(a: Severity, than: Severity): boolean {
  return SEVERITY_RANK[a] > SEVERITY_RANK[than];
}

/** FNV-1a, 32 bit: a short stable fingerprint of a dedup key for incident ids. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36).toUpperCase().padStart(7, '0').slice(-5);
}

/**
 * Incident ids are readable, sortable by opening time and unique: at most one incident per dedup key is open at a
 * time, so (key, opening millisecond) never repeats.
 */
export function incidentId(dedupKey: string, openedAt: number): string {
  return `INC-${openedAt.toString(36).toUpperCase()}-${fingerprint(dedupKey)}`;
}

export interface IncidentMetrics {
  /** Failure start to incident open. */
  readonly mttdMs: number;
  /** Open to first acknowledgement. */
  readonly mttaMs?: number;
  /** Failure start to resolution. */
  readonly mttrMs?: number;
  /** Acknowledged or resolved by `slaDueAt`; undefined while neither happened and the SLA time has not passed. */
  readonly slaMet?: boolean;
}

export function incidentMetrics(incident: Incident, now: number): IncidentMetrics {
  const respondedAt = incident.acknowledgedAt ?? incident.resolvedAt;
  const slaMet =
    respondedAt !== undefined ? respondedAt <= incident.slaDueAt : now > incident.slaDueAt ? false : undefined;
  return {
    mttdMs: incident.openedAt - incident.failingSince,
    ...(incident.acknowledgedAt === undefined ? {} : { mttaMs: incident.acknowledgedAt - incident.openedAt }),
    ...(incident.resolvedAt === undefined ? {} : { mttrMs: incident.resolvedAt - incident.failingSince }),
    ...(slaMet === undefined ? {} : { slaMet }),
  };
}
