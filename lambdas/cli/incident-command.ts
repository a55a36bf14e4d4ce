import { SEVERITIES, type Severity } from '../core/config-schema.ts';
import { formatDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { describeNextStep } from '../core/escalation.ts';
import { type Incident, incidentMetrics, type TimelineEntry } from '../core/incident.ts';
import { acknowledgeIncident, declareIncident, resolveIncident } from '../use-cases/operator-actions.ts';
import { incidentView } from '../use-cases/operator-api.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson, formatTable } from './output.ts';

const USAGE = `Usage:
  acgs-ops incident list [--all] [--limit N]
  acgs-ops incident show ID
  acgs-ops incident ack ID [--by NAME] [--note TEXT]
  acgs-ops incident resolve ID --reason TEXT [--by NAME]
  acgs-ops incident declare --type security|manual --severity P1|P2|P3 --title TEXT [--service NAME]... [--by NAME]

Works on the state of the local control plane (the daemon may be running). Acknowledging stops escalation until
the ack times out; resolving stops everything. "declare" opens an incident by hand (e.g. a security alert): it
pages like any other and is never auto-resolved.

Options:
${LOCAL_OPTIONS_HELP}
      --all          list resolved incidents too (default: open ones)
      --limit N      at most N incidents (default 50)
      --by NAME      who acts (default: your login name)
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  all: { type: 'boolean', default: false },
  limit: { type: 'string' },
  by: { type: 'string' },
  note: { type: 'string' },
  reason: { type: 'string' },
  type: { type: 'string' },
  severity: { type: 'string' },
  title: { type: 'string' },
  service: { type: 'string', multiple: true },
} as const;

export const incidentCommand: CliCommand = {
  name: 'incident',
  summary: 'list, show, acknowledge, resolve or declare incidents',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('incident', args, OPTIONS);
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (see acgs-ops incident --help)`);
    const needId = () => {
      if (!id) throw new UsageError(`acgs-ops incident ${action} needs an incident id (see acgs-ops incident list)`);
      return id;
    };
    switch (action) {
      case 'list':
      case 'show':
      case 'ack':
      case 'resolve':
      case 'declare':
        break;
      case undefined:
        throw new UsageError('acgs-ops incident needs an action: list, show, ack, resolve or declare');
      default:
        throw new UsageError(`unknown action "${action}" (actions: list, show, ack, resolve, declare)`);
    }
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a positive whole number, got "${values.limit}"`);
    if (action === 'resolve' && !values.reason?.trim())
      throw new UsageError('resolve needs --reason TEXT (it goes on the timeline)');
    const declared = action === 'declare' ? declaration(values) : undefined;

    const { runtime } = await openRuntimeFor(values, context);
    try {
      const { ctx } = runtime;
      const now = ctx.clock.now();
      if (action === 'list') {
        const incidents = values.all
          ? await ctx.incidents.listIncidents({ limit })
          : await ctx.incidents.listOpenIncidents();
        context.stdout(
          values.json
            ? formatJson(incidents.slice(0, limit).map((i) => incidentView(i, now)))
            : listText(incidents.slice(0, limit), now),
        );
        return 0;
      }
      if (action === 'declare' && declared) {
        const incident = await declareIncident(ctx, { ...declared, by: operatorName(values.by) });
        context.stdout(
          values.json
            ? formatJson(incidentView(incident, now))
            : `declared ${incident.id} (${incident.severity}): ${incident.title}\n`,
        );
        return 0;
      }
      const incidentId = needId();
      if (action === 'show') {
        const incident = await ctx.incidents.getIncident(incidentId);
        if (!incident) throw new UsageError(`no incident ${incidentId} (see acgs-ops incident list --all)`);
        const timeline = await ctx.incidents.getTimeline(incidentId);
        context.stdout(
          values.json
            ? formatJson({ ...incidentView(incident, now), timeline: timeline.map(isoEntry) })
            : showText(incident, timeline, now),
        );
        return 0;
      }
      if (!(await ctx.incidents.getIncident(incidentId)))
        throw new UsageError(`no incident ${incidentId} (see acgs-ops incident list --all)`);
      const by = operatorName(values.by);
      const done =
        action === 'ack'
          ? await acknowledgeIncident(ctx, incidentId, by, values.note)
          : await resolveIncident(ctx, incidentId, by, values.reason ?? '');
      context.stdout(
        values.json
          ? formatJson(incidentView(done, now))
          : `${action === 'ack' ? 'acknowledged' : 'resolved'} ${done.id} (${done.title}) as ${by}; ${describeNextStep(done, now)}\n`,
      );
      return 0;
    } finally {
      runtime.close();
    }
  },
};

function declaration(values: {
  type?: string | undefined;
  severity?: string | undefined;
  title?: string | undefined;
  service?: string[] | undefined;
}) {
  if (values.type !== 'security' && values.type !== 'manual')
    throw new UsageError('declare needs --type security or --type manual');
  if (!SEVERITIES.includes(values.severity as Severity)) throw new UsageError('declare needs --severity P1, P2 or P3');
  if (!values.title?.trim()) throw new UsageError('declare needs --title TEXT');
  return {
    kind: values.type,
    severity: values.severity as Severity,
    title: values.title.trim(),
    services: values.service ?? [],
  } as const;
}

function listText(incidents: readonly Incident[], now: number): string {
  if (incidents.length === 0) return 'no incidents\n';
  return formatTable(
    ['ID', 'SEV', 'STATUS', 'TITLE', 'SINCE', 'LEVEL', 'NEXT'],
    incidents.map((i) => [
      i.id,
      i.severity,
      i.status,
      i.title + (i.flapping ? ' [flapping]' : ''),
      `${formatDuration(now - i.failingSince)} ago`,
      String(i.escalation.level),
      describeNextStep(i, now),
    ]),
  );
}

export function showText(incident: Incident, timeline: readonly TimelineEntry[], now: number): string {
  const m = incidentMetrics(incident, now);
  const lines = [
    `${incident.id}  ${incident.severity}  ${incident.status}  ${incident.title}`,
    `  kind ${incident.kind}${incident.flapping ? ' (flapping)' : ''}, services ${incident.services.join(', ') || '-'}, seen ${incident.count}x`,
    `  failing since ${new Date(incident.failingSince).toISOString()}, opened ${new Date(incident.openedAt).toISOString()}`,
    `  MTTD ${formatDuration(m.mttdMs)}  MTTA ${m.mttaMs === undefined ? '-' : formatDuration(m.mttaMs)}  MTTR ${m.mttrMs === undefined ? '-' : formatDuration(m.mttrMs)}  SLA ${m.slaMet === undefined ? 'pending' : m.slaMet ? 'met' : 'breached'}`,
    `  next: ${describeNextStep(incident, now)}`,
    '  timeline:',
    ...timeline.map((e) => `    ${new Date(e.at).toISOString()}  ${describeEntry(e)}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function describeEntry(e: TimelineEntry): string {
  switch (e.type) {
    case 'opened':
      return `opened ${e.severity}: ${e.detail}`;
    case 'severity-raised':
      return `severity ${e.from} -> ${e.to}: ${e.detail}`;
    case 'impact-changed':
      return `impact grew: ${e.added.join(', ')}`;
    case 'flapping':
      return e.flapping ? 'flapping started' : 'flapping stopped';
    case 'paged':
      return `paged level ${e.level} (${e.levelName}) [${e.why}]: ${e.contacts.join(', ')}`;
    case 'page-muted':
      return `page muted by maintenance window ${e.window} until ${new Date(e.until).toISOString()}`;
    case 'acknowledged':
      return `acknowledged by ${e.by}${e.note ? `: ${e.note}` : ''}`;
    case 'ack-expired':
      return 'acknowledgement expired';
    case 'remediation':
      return `${e.action} ${e.service} ${e.outcome}: ${e.detail}`;
    case 'breaker-open':
      return `restart breaker open for ${e.service}: ${e.restarts} restarts in ${formatDuration(e.windowMs)}`;
    case 'note':
      return `note by ${e.by}: ${e.text}`;
    case 'resolved':
      return `resolved by ${e.by}: ${e.resolution}`;
  }
}

function isoEntry(e: TimelineEntry) {
  return { ...e, at: new Date(e.at).toISOString() };
}

export type { CliContext };
