import { formatDuration } from './duration.ts';
import type { NoticeKind, NoticeMessage } from './notices.ts';
import type { MessageOptions } from './page-message.ts';
import { describeEntry } from './timeline-wording.ts';

/**
 * The words of a lifecycle notice (issue 11), the same on every plain channel (console, JSON lines, webhook, email):
 * what happened, to which incident (title, severity, where, since), who did it, the update's text, and for a
 * resolve how and the MTTR; for a maintenance window its subjects, times and reason. Subjects stay under 100
 * characters, like pages'.
 */
export interface FormattedNotice {
  readonly subject: string;
  readonly text: string;
  /** Machine-readable form for webhooks and JSON-lines files. */
  readonly body: NoticeBody;
}

export interface NoticeBody {
  readonly kind: 'acgs-ops.notice';
  /** The idempotency key: `<incident or window id>/<notice key>`. */
  readonly key: string;
  readonly event: NoticeKind;
  /** One sentence: what happened. */
  readonly summary: string;
  readonly fleet: string;
  readonly at: string;
  readonly by?: string;
  readonly text?: string;
  readonly level?: number;
  readonly incident?: {
    readonly id: string;
    readonly title: string;
    readonly severity: string;
    readonly status: string;
    readonly services: readonly string[];
    readonly host?: string;
    readonly failingSince: string;
    readonly openedAt: string;
    readonly detail: string;
    readonly acknowledgedBy?: string;
    readonly resolvedAt?: string;
    readonly resolution?: string;
    readonly mttrMs?: number;
    readonly mttr?: string;
    readonly actions: readonly string[];
    readonly acknowledge?: string;
  };
  readonly window?: {
    readonly id: string;
    readonly subjects: readonly string[];
    readonly startsAt: string;
    readonly endsAt: string;
    readonly reason: string;
    readonly createdBy: string;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

const HEADLINE: Record<NoticeKind, string> = {
  opened: 'Incident opened',
  escalated: 'Incident escalated',
  acknowledged: 'Incident acknowledged',
  update: 'Incident update',
  'sla-breached': 'Response SLA breached',
  resolved: 'Incident resolved',
  'maintenance-started': 'Maintenance started',
  'maintenance-ended': 'Maintenance ended',
  test: 'Escalation test',
};

export function formatNotice(message: NoticeMessage, options: MessageOptions): FormattedNotice {
  const { notice, incident, window } = message;
  const by = notice.by === undefined ? '' : ` by ${notice.by}`;
  const lines: string[] = [];
  let summary: string;
  let about: string;
  let incidentBody: NoticeBody['incident'];
  let windowBody: NoticeBody['window'];
  if (incident) {
    const where = [incident.services.length > 0 ? incident.services.join(', ') : undefined, incident.host]
      .filter(Boolean)
      .join(' on ');
    const mttrMs = incident.resolvedAt === undefined ? undefined : incident.resolvedAt - incident.failingSince;
    const acknowledge =
      incident.status === 'resolved' ? undefined : options.acknowledgeHint.replaceAll('{id}', incident.id);
    summary = incidentSummary(notice.kind, by, notice.text, notice.level, mttrMs);
    about = `[${incident.severity}] ${incident.title} (${incident.id})`;
    lines.push(
      `${HEADLINE[notice.kind]}: ${incident.severity} ${incident.title}`,
      summary,
      `Where: ${where || options.fleet}`,
      `Since: ${iso(incident.failingSince)} (${formatDuration(Math.max(0, notice.at - incident.failingSince))} before this), incident ${incident.id}`,
      `Status: ${incident.status}${incident.acknowledgedBy ? `, acknowledged by ${incident.acknowledgedBy}` : ''}`,
    );
    if (notice.kind === 'update' && notice.text) lines.push(`Update: ${notice.text}`);
    if (notice.kind === 'resolved') {
      lines.push(`How: ${notice.text ?? incident.resolution ?? 'resolved'}`);
      if (mttrMs !== undefined) lines.push(`Time to resolve: ${formatDuration(mttrMs)}`);
    }
    if (acknowledge && notice.kind !== 'acknowledged') lines.push(`Acknowledge: ${acknowledge}`);
    const actions = message.recent.flatMap((entry) => describeEntry(entry, 'page') ?? []);
    incidentBody = {
      id: incident.id,
      title: incident.title,
      severity: incident.severity,
      status: incident.status,
      services: incident.services,
      ...(incident.host === undefined ? {} : { host: incident.host }),
      failingSince: iso(incident.failingSince),
      openedAt: iso(incident.openedAt),
      detail: incident.detail,
      ...(incident.acknowledgedBy === undefined ? {} : { acknowledgedBy: incident.acknowledgedBy }),
      ...(incident.resolvedAt === undefined ? {} : { resolvedAt: iso(incident.resolvedAt) }),
      ...(incident.resolution === undefined ? {} : { resolution: incident.resolution }),
      ...(mttrMs === undefined ? {} : { mttrMs, mttr: formatDuration(mttrMs) }),
      actions,
      ...(acknowledge === undefined ? {} : { acknowledge }),
    };
  } else if (window) {
    const subjects = window.subjects.includes('*') ? 'the whole fleet' : window.subjects.join(', ');
    summary =
      notice.kind === 'maintenance-ended'
        ? `Maintenance of ${subjects} ended${by}${notice.at < window.endsAt ? ' early' : ''}: paging and restarts are back.`
        : `Maintenance of ${subjects} started${by}: paging and restarts are muted until ${iso(window.endsAt)}.`;
    about = `maintenance of ${subjects} (${window.id})`;
    lines.push(
      `${HEADLINE[notice.kind]}: ${subjects}`,
      summary,
      `Window: ${iso(window.startsAt)} to ${iso(window.endsAt)} (${formatDuration(window.endsAt - window.startsAt)})`,
      `Reason: ${window.reason}`,
      `Opened by: ${window.createdBy}`,
    );
    windowBody = {
      id: window.id,
      subjects: window.subjects,
      startsAt: iso(window.startsAt),
      endsAt: iso(window.endsAt),
      reason: window.reason,
      createdBy: window.createdBy,
    };
  } else {
    summary = `${HEADLINE[notice.kind]}${by}.`;
    about = message.key;
    lines.push(summary);
  }
  const subjectFull = `${HEADLINE[notice.kind]}: ${options.fleet}: ${about}`;
  const subject = subjectFull.length <= 99 ? subjectFull : `${subjectFull.slice(0, 96)}...`;
  return {
    subject,
    text: lines.join('\n'),
    body: {
      kind: 'acgs-ops.notice',
      key: message.key,
      event: notice.kind,
      summary,
      fleet: options.fleet,
      at: iso(notice.at),
      ...(notice.by === undefined ? {} : { by: notice.by }),
      ...(notice.text === undefined ? {} : { text: notice.text }),
      ...(notice.level === undefined ? {} : { level: notice.level }),
      ...(incidentBody ? { incident: incidentBody } : {}),
      ...(windowBody ? { window: windowBody } : {}),
    },
  };
}

function incidentSummary(
  kind: NoticeKind,
  by: string,
  text: string | undefined,
  level: number | undefined,
  mttrMs: number | undefined,
): string {
  switch (kind) {
    case 'opened':
      return `A new incident was opened${text ? `: ${text}` : '.'}`;
    case 'escalated':
      return `Not acknowledged in time: escalated${level === undefined ? '' : ` to level ${level}`}.`;
    case 'acknowledged':
      return `Acknowledged${by}: someone is on it.`;
    case 'update':
      return `Status update${by}${text ? `: ${text}` : '.'}`;
    case 'sla-breached':
      return `Response time passed without an acknowledgement${text ? ` (${text})` : ''}${level === undefined ? '' : `: escalated to level ${level}`}.`;
    case 'resolved':
      return `Resolved${mttrMs === undefined ? '' : ` after ${formatDuration(mttrMs)}`}${by}${text ? `: ${text}` : '.'}`;
    case 'test':
      return `Escalation test${by}${text ? `: ${text}` : ''}: acknowledge it to pass.`;
    default:
      return `${HEADLINE[kind]}${by}.`;
  }
}
