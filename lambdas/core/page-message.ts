import { formatDuration } from './duration.ts';
import type { Page } from './escalation.ts';
import type { Incident, TimelineEntry } from './incident.ts';
import { describeEntry } from './timeline-wording.ts';

/**
 * The words of a page, the same on every channel: what, where, severity, since when, what was done, and how to
 * acknowledge. Subjects stay under 100 characters (SNS email subjects must).
 */
export interface PageMessage {
  readonly subject: string;
  readonly text: string;
  /** Machine-readable form for webhooks, JSON-lines files and SNS message bodies. */
  readonly body: PageBody;
}

export interface PageBody {
  readonly kind: 'acgs-ops.page';
  readonly incidentId: string;
  readonly severity: string;
  readonly status: string;
  readonly title: string;
  readonly fleet: string;
  readonly services: readonly string[];
  readonly host?: string;
  readonly level: number;
  readonly levelName: string;
  readonly why: string;
  readonly contacts: readonly string[];
  readonly failingSince: string;
  readonly openedAt: string;
  readonly detail: string;
  readonly actions: readonly string[];
  readonly acknowledge: string;
  readonly at: string;
}

const WHY: Record<Page['why'], string> = {
  opened: 'new incident',
  escalated: 'not acknowledged in time: escalated',
  repeated: 'still not acknowledged',
  'ack-expired': 'acknowledgement expired and the incident is still open',
  'severity-raised': 'severity raised',
  'breaker-open': 'automatic restarts exhausted: escalated',
  'sla-breached': 'response time passed without acknowledgement (SLA breached): escalated',
  test: 'escalation test: acknowledge it to pass (nothing is wrong)',
};

export interface MessageOptions {
  readonly fleet: string;
  /** How an operator acknowledges, with `{id}` for the incident id. */
  readonly acknowledgeHint: string;
}

export function formatPage(
  page: Page,
  incident: Incident,
  recent: readonly TimelineEntry[],
  options: MessageOptions,
): PageMessage {
  const since = formatDuration(page.at - incident.failingSince);
  const where = [incident.services.length > 0 ? incident.services.join(', ') : undefined, incident.host]
    .filter(Boolean)
    .join(' on ');
  const actions = recent.flatMap((entry) => describeEntry(entry, 'page') ?? []);
  const acknowledge = options.acknowledgeHint.replaceAll('{id}', incident.id);
  const subjectFull = `[${page.severity}] ${options.fleet}: ${incident.title} (${incident.id})`;
  const subject = subjectFull.length <= 99 ? subjectFull : `${subjectFull.slice(0, 96)}...`;
  const text = [
    `${page.severity} ${incident.title}`,
    `Why you get this: ${WHY[page.why]} (level ${page.level}, ${page.levelName})`,
    `Where: ${where || options.fleet}`,
    `Since: ${new Date(incident.failingSince).toISOString()} (${since} ago), incident ${incident.id} opened ${new Date(incident.openedAt).toISOString()}`,
    `Seen: ${incident.detail}`,
    `Done so far: ${actions.length > 0 ? actions.join('; ') : 'nothing yet'}`,
    `Acknowledge: ${acknowledge}`,
  ].join('\n');
  return {
    subject,
    text,
    body: {
      kind: 'acgs-ops.page',
      incidentId: incident.id,
      severity: page.severity,
      status: incident.status,
      title: incident.title,
      fleet: options.fleet,
      services: incident.services,
      ...(incident.host === undefined ? {} : { host: incident.host }),
      level: page.level,
      levelName: page.levelName,
      why: page.why,
      contacts: page.contacts.map((c) => c.name),
      failingSince: new Date(incident.failingSince).toISOString(),
      openedAt: new Date(incident.openedAt).toISOString(),
      detail: incident.detail,
      actions,
      acknowledge,
      at: new Date(page.at).toISOString(),
    },
  };
}
