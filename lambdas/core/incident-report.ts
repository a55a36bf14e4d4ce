import type { Severity } from './config-schema.ts';
import { escapeControlCharacters } from './control-characters.ts';
import { formatDuration } from './duration.ts';
import { type Incident, incidentMetrics, type ProcedureOutcome, type TimelineEntry } from './incident.ts';
import { type ChecklistItem, hasSecurityChecklist, securityChecklist } from './security-checklist.ts';
import { describeEntry } from './timeline-wording.ts';

/**
 * The incident report: what happened, to what, what was done and how it ended, the times against the severity's
 * SLA, and the post-incident questions to fill in. Built from the incident and its timeline only, so the same
 * report comes out of `incident report` and of the copy written when the incident resolves.
 */

export const REPORT_FORMATS = ['md', 'json'] as const;
/** Where incident reports are stored, in the state directory on one host and in the artifact bucket in AWS. */
export const REPORT_PREFIX = 'incident-reports/';
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The post-incident review: one question per topic, answered by the people who handled the incident. */
export const POST_INCIDENT_QUESTIONS = [
  { topic: 'detection', question: 'How was the problem detected, and what would have detected it sooner?' },
  { topic: 'diagnosis', question: 'How was the cause found, and what would have found it faster?' },
  { topic: 'mitigation', question: 'What ended the impact, and what would have ended it sooner?' },
  { topic: 'prevention', question: 'What change keeps this from happening again, and who owns it?' },
] as const;

/** A command run about the incident: an automatic remediation or an operator procedure. */
export interface ReportCommand {
  readonly at: string;
  readonly by: string;
  readonly action: string;
  readonly services: readonly string[];
  readonly outcome: ProcedureOutcome | 'requested' | 'skipped';
  readonly detail: string;
}

/** One measured time: how long it took, the target (if the runbook sets one) and whether it was met. */
export interface ReportTime {
  readonly ms: number | null;
  readonly targetMs: number | null;
  readonly met: boolean | null;
}

/** The response SLA's breach, when it was recorded: when it was due, when noticed, and how late the response was. */
export interface ReportSlaBreach {
  readonly severity: Severity;
  /** The response was due by then. */
  readonly dueAt: string;
  /** When the sweep recorded the breach. */
  readonly recordedAt: string;
  /** The level the breach escalated to, if it paged. */
  readonly level: number | null;
  /** The response (acknowledgement or resolution) came this long after the due time; while none came, until now. */
  readonly lateByMs: number;
  /** Whether anyone has responded yet. */
  readonly responded: boolean;
}

export interface IncidentReport {
  readonly id: string;
  readonly title: string;
  readonly kind: Incident['kind'];
  readonly severity: Severity;
  readonly status: Incident['status'];
  readonly summary: string;
  readonly services: readonly string[];
  readonly failingSince: string;
  readonly openedAt: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
  readonly resolution: string | null;
  readonly times: {
    /** Failure start to incident open (no target). */
    readonly detection: ReportTime;
    /** Open to acknowledgement (or resolution, if that came first), against the severity's response time. */
    readonly acknowledgement: ReportTime;
    /** Failure start to resolution, against the recovery time objective. */
    readonly recovery: ReportTime;
  };
  /** The response SLA's breach as recorded on the timeline; null when none was. */
  readonly slaBreach: ReportSlaBreach | null;
  readonly timeline: readonly { readonly at: string; readonly text: string }[];
  readonly commands: readonly ReportCommand[];
  /** The security checklist, for security incidents; null for the others. */
  readonly checklist: readonly (Omit<ChecklistItem, 'at'> & { readonly at: string | null })[] | null;
  readonly questions: readonly { readonly topic: string; readonly question: string; readonly answer: string }[];
  readonly generatedAt: string;
}

export interface ReportTargets {
  /** The recovery time objective (`recovery.rto`). */
  readonly rtoMs?: number | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms));

export function buildIncidentReport(
  incident: Incident,
  timeline: readonly TimelineEntry[],
  targets: ReportTargets,
  now: number,
): IncidentReport {
  const m = incidentMetrics(incident, now);
  const responseMs = incident.escalation.policy.responseTime[incident.severity];
  // The response SLA counts an acknowledgement, or a resolution that came first.
  const respondedAt = incident.acknowledgedAt ?? incident.resolvedAt;
  const rtoMs = targets.rtoMs ?? null;
  const commands: ReportCommand[] = timeline.flatMap((e): ReportCommand[] => {
    if (e.type === 'remediation')
      return [
        {
          at: iso(e.at),
          by: 'control-plane',
          action: e.action,
          services: [e.service],
          outcome: e.outcome,
          detail: e.detail,
        },
      ];
    if (e.type === 'procedure')
      return [
        { at: iso(e.at), by: e.by, action: e.action, services: e.services, outcome: e.outcome, detail: e.detail },
      ];
    return [];
  });
  const breach = timeline.find((e) => e.type === 'sla-breached');
  const slaBreach: ReportSlaBreach | null =
    breach === undefined
      ? null
      : {
          severity: breach.severity,
          dueAt: iso(breach.dueAt),
          recordedAt: iso(breach.at),
          level: breach.level ?? null,
          lateByMs: (respondedAt ?? now) - breach.dueAt,
          responded: respondedAt !== undefined,
        };
  const services = incident.services.length > 0 ? incident.services : incident.targets;
  const span = m.mttrMs === undefined ? 'is not resolved yet' : `lasted ${formatDuration(m.mttrMs)}`;
  return {
    id: incident.id,
    title: incident.title,
    kind: incident.kind,
    severity: incident.severity,
    status: incident.status,
    summary:
      `${incident.severity} ${incident.kind} incident "${incident.title}" on ${services.join(', ') || 'the fleet'}: ` +
      `${span}; ${commands.length} command(s) run; ${incident.escalation.pages} page(s) sent, ` +
      `up to escalation level ${incident.escalation.level}.`,
    services,
    failingSince: iso(incident.failingSince),
    openedAt: iso(incident.openedAt),
    acknowledgedAt: isoOrNull(incident.acknowledgedAt),
    acknowledgedBy: incident.acknowledgedBy ?? null,
    resolvedAt: isoOrNull(incident.resolvedAt),
    resolvedBy: incident.resolvedBy ?? null,
    resolution: incident.resolution ?? null,
    times: {
      detection: { ms: m.mttdMs, targetMs: null, met: null },
      acknowledgement: {
        ms: respondedAt === undefined ? null : respondedAt - incident.openedAt,
        targetMs: responseMs,
        met: m.slaMet ?? null,
      },
      recovery: {
        ms: m.mttrMs ?? null,
        targetMs: rtoMs,
        met: m.mttrMs === undefined || rtoMs === null ? null : m.mttrMs <= rtoMs,
      },
    },
    slaBreach,
    timeline: timeline.map((e) => ({ at: iso(e.at), text: describeEntry(e) })),
    commands,
    checklist: hasSecurityChecklist(incident)
      ? securityChecklist(timeline).map((i) => ({ ...i, at: isoOrNull(i.at) }))
      : null,
    questions: POST_INCIDENT_QUESTIONS.map((q) => ({ ...q, answer: '' })),
    generatedAt: iso(now),
  };
}

/** The report as Markdown. Stored text is shown with its control characters escaped and table pipes quoted. */
export function renderIncidentReportMarkdown(report: IncidentReport): string {
  const t = (text: string) => escapeControlCharacters(text);
  const cell = (text: string) => t(text).replace(/\|/g, '\\|');
  const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
  const met = (v: boolean | null) => (v === null ? '-' : v ? 'met' : 'missed');
  const time = (name: string, v: ReportTime) => `| ${name} | ${ms(v.ms)} | ${ms(v.targetMs)} | ${met(v.met)} |`;
  const lines = [
    `# Incident report ${report.id}: ${t(report.title)}`,
    '',
    `- Severity: ${report.severity}`,
    `- Kind: ${report.kind}`,
    `- Status: ${report.status}`,
    `- Impacted services: ${report.services.map(t).join(', ') || '-'}`,
    `- Failing since: ${report.failingSince}`,
    `- Opened: ${report.openedAt}`,
    `- Acknowledged: ${report.acknowledgedAt ?? '-'}${report.acknowledgedBy ? ` by ${t(report.acknowledgedBy)}` : ''}`,
    `- Resolved: ${report.resolvedAt ?? '-'}${report.resolvedBy ? ` by ${t(report.resolvedBy)}` : ''}`,
    ...(report.resolution === null ? [] : [`- Resolution: ${t(report.resolution)}`]),
    '',
    '## Summary',
    '',
    t(report.summary),
    '',
    '## Times against the SLA',
    '',
    '| Time | Took | Target | SLA |',
    '| --- | --- | --- | --- |',
    time('Detection (failure to incident)', report.times.detection),
    time('Acknowledgement (incident to ack or resolve)', report.times.acknowledgement),
    time('Recovery (failure to resolution)', report.times.recovery),
    '',
    ...(report.slaBreach === null ? [] : [slaBreachLine(report.slaBreach), '']),
    '## Commands run',
    '',
    ...(report.commands.length === 0
      ? ['None.']
      : [
          '| At | By | Command | Services | Outcome | Detail |',
          '| --- | --- | --- | --- | --- | --- |',
          ...report.commands.map(
            (c) =>
              `| ${c.at} | ${cell(c.by)} | ${cell(c.action)} | ${cell(c.services.join(', '))} | ${c.outcome} | ${cell(c.detail)} |`,
          ),
        ]),
    '',
    ...(report.checklist === null
      ? []
      : [
          '## Security checklist',
          '',
          ...report.checklist.map(
            (i) =>
              `- [${i.ticked ? 'x' : ' '}] ${i.step}: ${i.text}` +
              (i.ticked ? ` (${i.at} by ${t(i.by ?? '?')}${i.note ? `: ${t(i.note)}` : ''})` : ''),
          ),
          '',
        ]),
    '## Timeline',
    '',
    ...report.timeline.map((e) => `- ${e.at} ${t(e.text)}`),
    '',
    '## Post-incident review',
    '',
    ...report.questions.flatMap((q) => [
      `### ${q.topic[0]?.toUpperCase()}${q.topic.slice(1)}`,
      '',
      q.question,
      '',
      '_To fill in._',
      '',
    ]),
    `_Generated ${report.generatedAt}._`,
    '',
  ];
  return lines.join('\n');
}

function slaBreachLine(b: ReportSlaBreach): string {
  const late = formatDuration(b.lateByMs);
  const response = b.responded ? `the response came ${late} late` : `no response yet, ${late} past due`;
  const escalated = b.level === null ? '' : `; escalated to level ${b.level}`;
  return `**${b.severity} response SLA breached**: due ${b.dueAt}, recorded ${b.recordedAt}; ${response}${escalated}.`;
}
