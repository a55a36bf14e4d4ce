import { formatDuration, formatInstant } from '../duration.ts';
import type { MaintenanceWindow, Page } from '../escalation.ts';
import type { Severity } from '../fleet-constants.ts';
import type { Incident } from '../incident.ts';
import type { NoticeKind, NoticeMessage } from '../notices.ts';
import type { PageMessage } from '../page-message.ts';
import { describeEntry } from '../timeline-wording.ts';

/**
 * What the PagerDuty, Slack and Teams payload builders are given: a page (the words `formatPage` chose, with the page
 * and its incident) or a lifecycle notice. `channelFacts` reads both into one shape, so every format says the same
 * things in the same words and only the layout differs per format.
 */
export type ChannelInput =
  | { readonly page: PageInput; readonly notice?: undefined }
  | { readonly notice: NoticeMessage; readonly page?: undefined };

export interface PageInput {
  readonly message: PageMessage;
  readonly page: Page;
  readonly incident: Incident;
}

/** How to acknowledge when the notice carries no hint: the config's default `notifications.acknowledgeHint`. */
export const DEFAULT_ACKNOWLEDGE_HINT = 'acgs-ops incident ack {id}';

/** What a message of any format shows. */
export interface ChannelFacts {
  /** `page`, or the notice's kind. */
  readonly kind: 'page' | NoticeKind;
  /** One line: `[P1] Acknowledged: auth is down`. */
  readonly headline: string;
  /** What happened and why the reader gets it, one or two sentences. */
  readonly what: string;
  readonly severity?: Severity;
  readonly status?: string;
  readonly incidentId?: string;
  readonly incident?: Incident;
  readonly window?: MaintenanceWindow;
  readonly title: string;
  readonly where: string;
  /** `2026-12-01T02:00:00.000Z (5m ago)`, or the window's span. */
  readonly since: string;
  /** What was done so far, oldest first (restarts, pages, acknowledgements). */
  readonly done: readonly string[];
  /** The command that acknowledges, while the incident is open and unacknowledged. */
  readonly acknowledge?: string;
  /** When the event happened (epoch ms). */
  readonly at: number;
  readonly by?: string;
  readonly text?: string;
  readonly level?: number;
}

const NOTICE_TITLES: Record<NoticeKind, string> = {
  opened: 'Opened',
  escalated: 'Escalated',
  acknowledged: 'Acknowledged',
  update: 'Update',
  'sla-breached': 'SLA breached',
  resolved: 'Resolved',
  'maintenance-started': 'Maintenance started',
  'maintenance-ended': 'Maintenance ended',
  test: 'Escalation test',
};

/** A page or a notice read into the facts every format shows. */
export function channelFacts(input: ChannelInput, acknowledgeHint = DEFAULT_ACKNOWLEDGE_HINT): ChannelFacts {
  if (input.page) return pageFacts(input.page);
  return noticeFacts(input.notice, acknowledgeHint);
}

function pageFacts({ message, page, incident }: PageInput): ChannelFacts {
  const body = message.body;
  return {
    kind: 'page',
    headline: `[${page.severity}] ${incident.title}`,
    what: `${pageWhy(message)}. Seen: ${incident.detail}`,
    severity: page.severity,
    status: incident.status,
    incidentId: incident.id,
    incident,
    title: incident.title,
    where: whereOf(incident, body.fleet),
    since: `${body.failingSince} (${formatDuration(page.at - incident.failingSince)} ago)`,
    done: body.actions,
    acknowledge: body.acknowledge,
    at: page.at,
    level: page.level,
  };
}

/** formatPage's "Why you get this" line, as a sentence: `New incident (level 1, Operations)`. */
function pageWhy(message: PageMessage): string {
  const why = (message.text.split('\n')[1] ?? '').replace(/^Why you get this: /, '') || 'paged';
  return `${why.charAt(0).toUpperCase()}${why.slice(1)}`;
}

function noticeFacts(message: NoticeMessage, acknowledgeHint: string): ChannelFacts {
  const { notice, incident, window } = message;
  const title = incident?.title ?? (window ? windowTitle(window) : 'acgs-ops');
  const label = NOTICE_TITLES[notice.kind];
  const headline = incident ? `[${incident.severity}] ${label}: ${title}` : `${label}: ${title}`;
  const done = message.recent.flatMap((entry) => describeEntry(entry, 'page') ?? []);
  const open = incident !== undefined && incident.status === 'open';
  return {
    kind: notice.kind,
    headline,
    what: noticeWhat(message),
    ...(incident ? { severity: incident.severity, status: incident.status, incidentId: incident.id, incident } : {}),
    ...(window ? { window } : {}),
    title,
    where: incident ? whereOf(incident) : window ? windowSubjects(window) : '-',
    since: incident
      ? `${formatInstant(incident.failingSince)} (${formatDuration(notice.at - incident.failingSince)} before this)`
      : window
        ? `${formatInstant(window.startsAt)} until ${formatInstant(window.endsAt)}`
        : formatInstant(notice.at),
    done,
    ...(open && incident ? { acknowledge: acknowledgeHint.replaceAll('{id}', incident.id) } : {}),
    at: notice.at,
    ...(notice.by === undefined ? {} : { by: notice.by }),
    ...(notice.text === undefined ? {} : { text: notice.text }),
    ...(notice.level === undefined ? {} : { level: notice.level }),
  };
}

/** One or two sentences on what the notice announces. */
function noticeWhat(message: NoticeMessage): string {
  const { notice, incident, window } = message;
  const by = notice.by ? ` by ${notice.by}` : '';
  const text = notice.text ? `: ${notice.text}` : '';
  switch (notice.kind) {
    case 'opened':
      return `Incident ${incident?.id ?? '?'} opened${text || (incident ? `: ${incident.detail}` : '')}`;
    case 'escalated':
      return `Escalated${notice.level === undefined ? '' : ` to level ${notice.level}`}: not acknowledged in time${text}`;
    case 'acknowledged':
      return `Acknowledged${by}${text}`;
    case 'update':
      return `Update${by}${text}`;
    case 'sla-breached':
      return `Response SLA breached: nobody acknowledged in time${text}`;
    case 'resolved': {
      const mttr =
        incident === undefined
          ? ''
          : ` (MTTR ${formatDuration((incident.resolvedAt ?? notice.at) - incident.failingSince)})`;
      return `Resolved${by}${text}${mttr}`;
    }
    case 'maintenance-started':
      return `Maintenance window ${window?.id ?? '?'} started${by}${window ? `: ${window.reason}` : text}`;
    case 'maintenance-ended':
      return `Maintenance window ${window?.id ?? '?'} ended${text}`;
    case 'test':
      return `Escalation test${by}${text}: no action needed beyond acknowledging it`;
  }
}

function whereOf(incident: Incident, fleet?: string): string {
  const where = [incident.services.length > 0 ? incident.services.join(', ') : undefined, incident.host]
    .filter(Boolean)
    .join(' on ');
  return where || fleet || incident.dedupKey;
}

function windowTitle(window: MaintenanceWindow): string {
  return `maintenance of ${windowSubjects(window)}`;
}

function windowSubjects(window: MaintenanceWindow): string {
  return window.subjects.includes('*') ? 'the whole fleet' : window.subjects.join(', ');
}

/** The name/value pairs shown side by side, the same for Slack fields and Teams facts. */
export function factFields(facts: ChannelFacts): [string, string][] {
  const pairs: [string, string | undefined][] = [
    ['Severity', facts.severity],
    ['Status', facts.status],
    ['Title', facts.title],
    ['Where', facts.where],
    ['Since', facts.since],
    ['Incident', facts.incidentId ?? facts.window?.id],
    ['Level', facts.level === undefined ? undefined : String(facts.level)],
    ['By', facts.by],
  ];
  return pairs.flatMap(([name, value]) => (value === undefined || value === '' ? [] : [[name, value]]));
}

/**
 * `text` cut to at most `max` UTF-16 code units (the unit JavaScript counts, never fewer than the characters Slack,
 * Teams and PagerDuty count), ending in `…` when cut; never splits a surrogate pair.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** The last `max` items, with a first line saying how many earlier ones were left out. */
export function lastItems(items: readonly string[], max: number): string[] {
  if (items.length <= max) return [...items];
  const kept = items.slice(items.length - (max - 1));
  return [`(${items.length - kept.length} earlier steps left out)`, ...kept];
}
