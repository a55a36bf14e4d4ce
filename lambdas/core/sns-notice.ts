import { formatDuration, formatInstant } from './duration.ts';
import type { NoticeKind, NoticeMessage } from './notices.ts';
import type { MessageOptions } from './page-message.ts';

/*
 * The words of a lifecycle notice on the SNS Updates topic: a subject, a text for people (email, SMS) and a JSON body
 * for machines (queues, Lambdas, HTTP endpoints). Deliberately small: the shared wording of notices
 * (core/notice-message.ts) can take its place without changing what SnsNotifier publishes around it.
 */

export interface SnsNoticeMessage {
  readonly subject: string;
  readonly text: string;
  readonly body: SnsNoticeBody;
}

export interface SnsNoticeBody {
  readonly kind: 'acgs-ops.notice';
  /** The idempotency key (`<incident or window id>/<notice key>`): the same on every retry, for receivers to dedupe. */
  readonly key: string;
  readonly event: NoticeKind;
  readonly fleet: string;
  readonly at: string;
  readonly headline: string;
  readonly incidentId?: string;
  readonly severity?: string;
  readonly status?: string;
  readonly title?: string;
  readonly services?: readonly string[];
  readonly host?: string;
  readonly windowId?: string;
  readonly subjects?: readonly string[];
  readonly endsAt?: string;
  readonly by?: string;
  readonly text?: string;
  readonly level?: number;
  readonly mttr?: string;
  readonly acknowledge?: string;
}

const HEADLINE: Record<NoticeKind, string> = {
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

/** The subject, text and body of one notice; `acknowledge` only while the incident is open and unacknowledged. */
export function formatSnsNotice(message: NoticeMessage, options: MessageOptions): SnsNoticeMessage {
  const { notice, incident, window } = message;
  const at = formatInstant(notice.at);
  const by = notice.by === undefined ? '' : ` by ${notice.by}`;
  const mttr =
    incident?.resolvedAt === undefined ? undefined : formatDuration(incident.resolvedAt - incident.failingSince);
  const acknowledge = incident?.status === 'open' ? options.acknowledgeHint.replaceAll('{id}', incident.id) : undefined;
  const headline = `${HEADLINE[notice.kind]}${notice.level === undefined ? '' : ` to level ${notice.level}`}${by}`;
  const lines: string[] = [];
  let subject: string;
  if (incident) {
    const where = [incident.services.join(', ') || undefined, incident.host].filter(Boolean).join(' on ');
    subject = `[${incident.severity}] ${options.fleet}: ${HEADLINE[notice.kind]}: ${incident.title} (${incident.id})`;
    lines.push(
      `${headline}: ${incident.severity} ${incident.title}`,
      `Incident: ${incident.id} (${incident.status}), opened ${formatInstant(incident.openedAt)}`,
      `Where: ${where || options.fleet}`,
    );
  } else {
    const subjects = window?.subjects.join(', ') ?? '';
    subject = `${options.fleet}: ${HEADLINE[notice.kind]}: ${subjects}${window ? ` (${window.id})` : ''}`;
    if (window)
      lines.push(
        `${headline}: ${subjects === '*' ? 'the whole fleet' : subjects}`,
        `Window: ${window.id}, ${formatInstant(window.startsAt)} until ${formatInstant(window.endsAt)}: ${window.reason}`,
      );
    else lines.push(headline);
  }
  if (notice.text !== undefined) lines.push(`${notice.kind === 'update' ? 'Update' : 'Detail'}: ${notice.text}`);
  if (mttr !== undefined && notice.kind !== 'opened') lines.push(`Time to resolve: ${mttr}`);
  if (acknowledge !== undefined) lines.push(`Acknowledge: ${acknowledge}`);
  lines.push(`At: ${at}`);
  return {
    subject,
    text: lines.join('\n'),
    body: {
      kind: 'acgs-ops.notice',
      key: message.key,
      event: notice.kind,
      fleet: options.fleet,
      at,
      headline,
      ...(incident
        ? {
            incidentId: incident.id,
            severity: incident.severity,
            status: incident.status,
            title: incident.title,
            services: incident.services,
            ...(incident.host === undefined ? {} : { host: incident.host }),
          }
        : {}),
      ...(window ? { windowId: window.id, subjects: window.subjects, endsAt: formatInstant(window.endsAt) } : {}),
      ...(notice.by === undefined ? {} : { by: notice.by }),
      ...(notice.text === undefined ? {} : { text: notice.text }),
      ...(notice.level === undefined ? {} : { level: notice.level }),
      ...(mttr === undefined ? {} : { mttr }),
      ...(acknowledge === undefined ? {} : { acknowledge }),
    },
  };
}
