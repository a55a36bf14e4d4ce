import { formatDuration, formatInstant } from '../duration.ts';
import type { MaintenanceWindow, Page } from '../escalation.ts';
import type { Severity } from '../fleet-constants.ts';
import type { Incident } from '../incident.ts';
import type { FormattedNotice } from '../notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../notices.ts';
import type { PageMessage } from '../page-message.ts';
import { describeEntry } from '../timeline-wording.ts';

/**
 * What the PagerDuty, Slack and Teams payload builders are given: a page (the words `formatPage` chose, with the page
 * and its incident) or a lifecycle notice (with the words `formatNotice` chose). `channelFacts` reads both into one
 * shape, so every format says what the plain channels say, in the same words, and only the layout differs.
 */
export type ChannelInput =
  | { readonly page: PageInput; readonly notice?: undefined }
  | { readonly notice: NoticeMessage; readonly formatted: FormattedNotice; readonly page?: undefined };

export interface PageInput {
  readonly message: PageMessage;
  readonly page: Page;
  readonly incident: Incident;
}

/** What a message of any format shows. */
export interface ChannelFacts {
  /** `page`, or the notice's kind. */
  readonly kind: 'page' | NoticeKind;
  /** One line: `[P1] Acknowledged: auth is down`. */
  readonly headline: string;
  /** What happened and why the reader gets it, one or two sentences. */
  readonly what: string;
  readonly fleet: string;
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
export function channelFacts(input: ChannelInput): ChannelFacts {
  if (input.page) return pageFacts(input.page);
  return noticeFacts(input.notice, input.formatted);
}

function pageFacts({ message, page, incident }: PageInput): ChannelFacts {
  const body = message.body;
  return {
    kind: 'page',
    headline: `[${page.severity}] ${incident.title}`,
    what: `${pageWhy(message)}. Seen: ${incident.detail}`,
    fleet: body.fleet,
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

function noticeFacts(message: NoticeMessage, formatted: FormattedNotice): ChannelFacts {
  const { notice, incident, window } = message;
  const title = incident?.title ?? (window ? windowTitle(window) : 'acgs-ops');
  const label = NOTICE_TITLES[notice.kind];
  const headline = incident ? `[${incident.severity}] ${label}: ${title}` : `${label}: ${title}`;
  const done = message.recent.flatMap((entry) => describeEntry(entry, 'page') ?? []);
  // Asked only while nobody has: an acknowledged incident's messages would otherwise ask again.
  const acknowledge = incident?.status === 'open' ? formatted.body.incident?.acknowledge : undefined;
  return {
    kind: notice.kind,
    headline,
    what: formatted.body.summary,
    fleet: formatted.body.fleet,
    ...(incident ? { severity: incident.severity, status: incident.status, incidentId: incident.id, incident } : {}),
    ...(window ? { window } : {}),
    title,
    where: incident ? whereOf(incident, formatted.body.fleet) : window ? windowSubjects(window) : formatted.body.fleet,
    since: incident
      ? `${formatInstant(incident.failingSince)} (${formatDuration(notice.at - incident.failingSince)} before this)`
      : window
        ? `${formatInstant(window.startsAt)} until ${formatInstant(window.endsAt)}`
        : formatInstant(notice.at),
    done,
    ...(acknowledge === undefined ? {} : { acknowledge }),
    at: notice.at,
    ...(notice.by === undefined ? {} : { by: notice.by }),
    ...(notice.text === undefined ? {} : { text: notice.text }),
    ...(notice.level === undefined ? {} : { level: notice.level }),
  };
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
