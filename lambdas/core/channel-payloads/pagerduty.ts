import { formatInstant } from '../duration.ts';
import type { Severity } from '../fleet-constants.ts';
import type { Incident } from '../incident.ts';
import type { NoticeMessage } from '../notices.ts';
import { type ChannelFacts, type ChannelInput, channelFacts, clip, lastItems } from './common.ts';
import type { PagerDutySeverity } from './pagerduty-constants.ts';

/**
 * PagerDuty Events API v2 alert events (developer.pagerduty.com, "Send an Alert Event"). One incident of ours is one
 * PagerDuty alert: every event about it carries the same `dedup_key`, so PagerDuty folds repeats into the open alert
 * instead of opening a second incident, and `acknowledge` / `resolve` find it.
 *
 * What each message becomes:
 * - a page (first page, escalation, repeat): `trigger` (repeats fold into the open alert: one PagerDuty incident);
 * - `opened`, `escalated`, `update`, `sla-breached`: `trigger` with the same key while the incident is not resolved
 *   (PagerDuty adds a trigger log entry to the open alert, and an acknowledged alert stays quiet); skipped once it is
 *   resolved, because a trigger after the resolve would open a NEW PagerDuty incident for a problem that is over;
 * - `acknowledged`: `acknowledge`; `resolved`: `resolve` (for an alert already resolved PagerDuty drops them);
 * - `test` (the escalation test's opened / acknowledged / resolved): the action of the timeline entry it announces;
 * - `maintenance-started` / `maintenance-ended`: skipped (no alert; they are not problems).
 * Only `routing_key`, `event_action` and `dedup_key` go with acknowledge and resolve, as the API's examples show.
 */

export {
  PAGERDUTY_EU_EVENTS_URL,
  PAGERDUTY_EVENTS_URL,
  PAGERDUTY_SEVERITIES,
  type PagerDutySeverity,
} from './pagerduty-constants.ts';

/** Our severities in PagerDuty's words unless the channel's config maps them otherwise. */
export const DEFAULT_PAGERDUTY_SEVERITIES: Readonly<Record<Severity, PagerDutySeverity>> = {
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
};

/** The API's documented limits. */
export const PAGERDUTY_LIMITS = {
  dedupKey: 255,
  summary: 1024,
  /** A whole event (the API rejects larger ones). */
  eventBytes: 512 * 1024,
} as const;

/** The timeline steps a trigger's details list (the newest ones); each cut to this length. */
const MAX_DONE_STEPS = 20;
const MAX_DETAIL_CHARS = 1_000;

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PagerDutyPayload {
  readonly summary: string;
  readonly source: string;
  readonly severity: PagerDutySeverity;
  readonly timestamp: string;
  readonly component?: string;
  readonly group?: string;
  readonly class?: string;
  readonly custom_details: Readonly<Record<string, unknown>>;
}

export interface PagerDutyEvent {
  readonly routing_key: string;
  readonly event_action: PagerDutyAction;
  readonly dedup_key: string;
  /** Only on `trigger`. */
  readonly payload?: PagerDutyPayload;
  readonly client?: string;
}

export interface PagerDutyOptions {
  readonly routingKey: string;
  readonly severityMap?: Partial<Record<Severity, PagerDutySeverity>>;
}

/** The event to send, or why nothing is sent for this message. */
export type PagerDutyDecision =
  | { readonly event: PagerDutyEvent; readonly skip?: undefined }
  | { readonly skip: string; readonly event?: undefined };

/**
 * The `dedup_key` of an incident: the same for every event about it, distinct for the next incident of the same
 * cause (the id leads, so a late `resolve` of an old incident never resolves a new one), at most 255 characters.
 */
export function pagerDutyDedupKey(incident: Pick<Incident, 'id' | 'dedupKey'>): string {
  return `acgs-ops:${incident.id}:${incident.dedupKey}`.slice(0, PAGERDUTY_LIMITS.dedupKey);
}

export function pagerDutyEvent(input: ChannelInput, options: PagerDutyOptions): PagerDutyDecision {
  const facts = channelFacts(input);
  const incident = facts.incident;
  if (!incident) return { skip: `${facts.kind} is about no incident: PagerDuty alerts are incidents` };
  const action = input.page ? 'trigger' : noticeAction(input.notice);
  if (typeof action !== 'string') return action;
  const dedupKey = pagerDutyDedupKey(incident);
  if (action !== 'trigger')
    return { event: { routing_key: options.routingKey, event_action: action, dedup_key: dedupKey } };
  if (incident.status === 'resolved' && !input.page)
    return { skip: `incident ${incident.id} is resolved: a trigger now would open a new PagerDuty incident` };
  return {
    event: {
      routing_key: options.routingKey,
      event_action: 'trigger',
      dedup_key: dedupKey,
      client: 'acgs-ops',
      payload: {
        summary: clip(`${facts.headline}: ${facts.what}`, PAGERDUTY_LIMITS.summary),
        source: clip(incident.host ?? incident.services[0] ?? facts.fleet, 255),
        severity: { ...DEFAULT_PAGERDUTY_SEVERITIES, ...options.severityMap }[incident.severity],
        timestamp: formatInstant(facts.at),
        component: clip(incident.services.join(', ') || incident.dedupKey, 255),
        group: facts.fleet,
        class: incident.kind,
        custom_details: details(facts),
      },
    },
  };
}

function noticeAction(message: NoticeMessage): PagerDutyAction | { skip: string } {
  switch (message.notice.kind) {
    case 'opened':
    case 'escalated':
    case 'update':
    case 'sla-breached':
      return 'trigger';
    case 'acknowledged':
      return 'acknowledge';
    case 'resolved':
      return 'resolve';
    case 'maintenance-started':
    case 'maintenance-ended':
      return { skip: 'maintenance windows are not PagerDuty alerts' };
    case 'test': {
      // The test notice stands for the timeline entry written with it (core/notices.ts withNotices).
      const entry = message.recent.find(
        (e) =>
          e.at === message.notice.at && (e.type === 'opened' || e.type === 'acknowledged' || e.type === 'resolved'),
      );
      if (entry?.type === 'opened') return 'trigger';
      if (entry?.type === 'acknowledged') return 'acknowledge';
      if (entry?.type === 'resolved') return 'resolve';
      return { skip: `test notice ${message.key} announces no opened, acknowledged or resolved entry` };
    }
  }
}

function details(facts: ChannelFacts): Record<string, unknown> {
  return {
    event: facts.kind,
    incident: facts.incidentId,
    title: facts.title,
    status: facts.status,
    what: clip(facts.what, 4 * MAX_DETAIL_CHARS),
    where: clip(facts.where, MAX_DETAIL_CHARS),
    since: facts.since,
    ...(facts.level === undefined ? {} : { level: facts.level }),
    ...(facts.by === undefined ? {} : { by: clip(facts.by, MAX_DETAIL_CHARS) }),
    done: lastItems(facts.done, MAX_DONE_STEPS).map((d) => clip(d, MAX_DETAIL_CHARS)),
    ...(facts.acknowledge === undefined ? {} : { acknowledge: clip(facts.acknowledge, MAX_DETAIL_CHARS) }),
  };
}
