import { SEVERITIES } from '../core/config-schema.ts';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { formatDuration } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import type { TimelineEntry } from '../core/incident.ts';
import { REPORT_FORMATS } from '../core/incident-report.ts';
import { checkInput } from '../core/operator-input.ts';
import { parseSecurityStep, SECURITY_STEPS } from '../core/security-checklist.ts';
import { formatTable } from '../core/text-table.ts';
import { describeEntry } from '../core/timeline-wording.ts';
import {
  ackBody,
  checklistBody,
  declareBody,
  type incidentView,
  noteBody,
  resolveBody,
} from '../use-cases/api/incident-routes.ts';
import { type ApiRequest, type ApiResponse, handleApiRequest } from '../use-cases/operator-api.ts';
import { checkServiceNames } from '../use-cases/service-procedures.ts';
import { apiTarget } from './api-target.ts';
import { parseCommandLine } from './args.ts';
import { callOperatorApi } from './aws-operator-client.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops incident list [--all]
  acgs-ops incident show ID
  acgs-ops incident ack ID [--note TEXT]
  acgs-ops incident resolve ID --reason TEXT
  acgs-ops incident declare --type manual --severity P1|P2|P3 --title TEXT [--service NAME]...
  acgs-ops incident declare --type security --title TEXT [--service NAME]... [--no-isolate]
  acgs-ops incident note ID --note TEXT
  acgs-ops incident check ID STEP [--note TEXT]
  acgs-ops incident report ID [--format md|json]

Acknowledging stops escalation until the ack times out; resolving stops everything. "declare" opens an incident by
hand: it pages like any other and is never auto-resolved.

A security incident (the runbook's Security Alert) is P1: it isolates each --service (unless --no-isolate), pages
every level through the Executive at once, and carries the runbook's checklist: isolate, assess, contain,
investigate, recover, report. "check" ticks a step off (isolate is ticked when the isolation succeeded); "show"
lists the checklist. "note" adds a note to the timeline. "report" prints the incident report (summary, services,
timeline, commands run, times against the SLA, post-incident questions); it is also written when the incident
resolves, to <state>/incident-reports/ on this host and to the artifact bucket in AWS.

Where: --target local (default) works on the state of the control plane on this host (the daemon may be running);
--target aws calls the deployed operator API (the stack's OperatorApiUrl output), signed with your AWS credentials,
and the incident is recorded as acknowledged or resolved by your IAM identity.

Options:
${LOCAL_OPTIONS_HELP}
      --target T     local (default) or aws
      --url URL      operator API URL for --target aws (default: $ACGS_OPERATOR_URL)
      --region R     AWS region for --target aws (default: $AWS_REGION)
      --all          list resolved incidents too (default: open ones)
      --by NAME      who acts, --target local only (default: your login name)
      --no-isolate   declare a security incident without isolating its services
      --format F     report format: md (default) or json

Exit status: 0 done, 1 refused by the incident's state or an isolation that failed, 64 bad input, 70 failure.
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  target: { type: 'string', default: 'local' },
  url: { type: 'string' },
  region: { type: 'string' },
  all: { type: 'boolean', default: false },
  by: { type: 'string' },
  note: { type: 'string' },
  reason: { type: 'string' },
  type: { type: 'string' },
  severity: { type: 'string' },
  title: { type: 'string' },
  service: { type: 'string', multiple: true },
  'no-isolate': { type: 'boolean', default: false },
  format: { type: 'string' },
} as const;

type View = ReturnType<typeof incidentView>;
type Timeline = (Omit<TimelineEntry, 'at'> & { at: string })[];

export const incidentCommand: CliCommand = {
  name: 'incident',
  summary: 'list, show, acknowledge, resolve, declare, note, check off or report incidents (on this host or in AWS)',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('incident', args, OPTIONS);
    const [action, id, ...rest] = positionals;
    const [step, ...extra] = action === 'check' ? rest : [undefined, ...rest];
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (see acgs-ops incident --help)`);
    const target = apiTarget(values);
    const request = toRequest(action, id, { ...values, step });

    let response: ApiResponse;
    if (target.kind === 'aws') {
      const body = await callOperatorApi(target.url, target.region, {
        method: request.method as 'GET' | 'POST',
        path: request.path,
        ...(request.body === undefined ? {} : { body: JSON.parse(request.body) }),
        query: Object.fromEntries(
          Object.entries(request.query).filter((e): e is [string, string] => e[1] !== undefined),
        ),
      });
      response = { statusCode: 200, body };
    } else {
      // Checked before the state is opened, like the request: bad input creates nothing.
      const caller = operatorName(values.by);
      const { runtime } = await openRuntimeFor(values, context, {
        access: action === 'list' || action === 'show' || action === 'report' ? 'read' : 'write',
        // An unknown service is refused before the state is opened: bad input creates nothing.
        check: (config) => checkServiceNames(config, values.service ?? []),
      });
      try {
        response = await handleApiRequest(runtime.ctx, { ...request, caller });
      } finally {
        runtime.close();
      }
      if (response.statusCode >= 400) {
        const message = (response.body as { error?: string }).error ?? `status ${response.statusCode}`;
        if (response.statusCode === 400 || response.statusCode === 404) throw new UsageError(message);
        if (response.statusCode === 409) {
          // Not a usage error and not a failure of the tool: the incident is already where the operator wanted it.
          context.stderr(`acgs-ops: ${message}\n`);
          return 1;
        }
        throw new ControlPlaneError('API_ERROR', message);
      }
    }

    if (values.json) {
      context.stdout(formatJson(response.body));
      return 0;
    }
    const now = context.clock.now();
    if (action === 'list') context.stdout(listText((response.body as { incidents: View[] }).incidents, now));
    else if (action === 'show') context.stdout(showText(response.body as ShownView));
    else if (action === 'report') context.stdout(reportText(response.body as { markdown?: string }));
    else if (action === 'check') context.stdout(checkText(response.body as ShownView, step ?? ''));
    else {
      const view = response.body as View & { isolation?: Isolation[] };
      const verbs: Record<string, string> = { ack: 'acknowledged', resolve: 'resolved', note: 'noted' };
      context.stdout(
        `${escapeControlCharacters(
          `${verbs[action ?? ''] ?? 'declared'} ${view.id} (${view.severity} ${view.title}); next: ${view.nextStep}`,
        )}\n`,
      );
      // A pending isolation (sent, outcome to follow) is not a failure; tick isolate by hand once it has happened.
      const fine = (status: string) => status === 'succeeded' || status === 'pending';
      const failed = (view.isolation ?? []).filter((i) => !fine(i.status));
      for (const i of view.isolation ?? [])
        (fine(i.status) ? context.stdout : context.stderr)(
          `${escapeControlCharacters(
            `isolate ${i.service}: ${i.status}${i.status === 'succeeded' ? '' : `: ${lastLine(i.output)}`}`,
          )}\n`,
        );
      if (failed.length > 0) return 1;
    }
    return 0;
  },
};

function toRequest(
  action: string | undefined,
  id: string | undefined,
  values: {
    all?: boolean | undefined;
    note?: string | undefined;
    reason?: string | undefined;
    type?: string | undefined;
    severity?: string | undefined;
    title?: string | undefined;
    service?: string[] | undefined;
    'no-isolate'?: boolean | undefined;
    format?: string | undefined;
    step?: string | undefined;
  },
): Omit<ApiRequest, 'caller'> {
  const needId = () => {
    if (!id) throw new UsageError(`acgs-ops incident ${action} needs an incident id (see acgs-ops incident list)`);
    if (!/^[A-Z0-9-]{1,64}$/.test(id)) throw new UsageError(`"${id}" is not an incident id (INC-...)`);
    return id;
  };
  const none = { query: {}, body: undefined };
  switch (action) {
    case 'list':
      return { method: 'GET', path: '/incidents', query: values.all ? { all: 'true' } : {}, body: undefined };
    case 'show':
      return { ...none, method: 'GET', path: `/incidents/${needId()}` };
    case 'ack':
      return {
        method: 'POST',
        path: `/incidents/${needId()}/ack`,
        query: {},
        body: JSON.stringify(checkFlags(ackBody, values.note === undefined ? {} : { note: values.note })),
      };
    case 'resolve':
      if (!values.reason?.trim()) throw new UsageError('resolve needs --reason TEXT (it goes on the timeline)');
      return {
        method: 'POST',
        path: `/incidents/${needId()}/resolve`,
        query: {},
        body: JSON.stringify(checkFlags(resolveBody, { reason: values.reason })),
      };
    case 'declare': {
      if (values.type !== 'security' && values.type !== 'manual')
        throw new UsageError('declare needs --type security or --type manual');
      const security = values.type === 'security';
      if (security && values.severity !== undefined && values.severity !== 'P1')
        throw new UsageError(`--severity: a security incident is P1, not "${values.severity}"`);
      if (!security && !SEVERITIES.some((s) => s === values.severity))
        throw new UsageError('declare needs --severity P1, P2 or P3');
      if (!security && values['no-isolate']) throw new UsageError('--no-isolate: only a security incident isolates');
      if (!values.title?.trim()) throw new UsageError('declare needs --title TEXT');
      const body = checkFlags(declareBody, {
        type: values.type,
        ...(values.severity === undefined ? {} : { severity: values.severity }),
        title: values.title.trim(),
        services: values.service ?? [],
        ...(security ? { isolate: !values['no-isolate'] } : {}),
      });
      return { method: 'POST', path: '/incidents', query: {}, body: JSON.stringify(body) };
    }
    case 'note':
      if (values.note === undefined) throw new UsageError('note needs --note TEXT (it goes on the timeline)');
      return {
        method: 'POST',
        path: `/incidents/${needId()}/note`,
        query: {},
        body: JSON.stringify(checkFlags(noteBody, { note: values.note })),
      };
    case 'check': {
      const path = `/incidents/${needId()}/checklist/`;
      if (values.step === undefined)
        throw new UsageError(`check needs a step: ${SECURITY_STEPS.join(', ')} (acgs-ops incident check ID STEP)`);
      const step = parseSecurityStep(values.step);
      return {
        method: 'POST',
        path: `${path}${step}`,
        query: {},
        body: JSON.stringify(checkFlags(checklistBody, values.note === undefined ? {} : { note: values.note })),
      };
    }
    case 'report': {
      const format = values.format ?? 'md';
      if (!(REPORT_FORMATS as readonly string[]).includes(format))
        throw new UsageError(`--format must be md or json, got ${JSON.stringify(format.slice(0, 40))}`);
      return { ...none, method: 'GET', path: `/incidents/${needId()}/report`, query: { format } };
    }
    case undefined:
      throw new UsageError(`acgs-ops incident needs an action: ${ACTIONS}`);
    default:
      throw new UsageError(`unknown action "${action}" (actions: ${ACTIONS})`);
  }
}

const ACTIONS = 'list, show, ack, resolve, declare, note, check, report';

/** The operator API's own rules, with the problem named by its flag (`--service`, not `services.3`). */
function checkFlags<T extends Parameters<typeof checkInput>[0]>(schema: T, body: Record<string, unknown>) {
  const flags: Record<string, string> = { services: '--service' };
  return checkInput(schema, body, 'body', (path) => {
    const field = path.split('.')[0] ?? path;
    return flags[field] ?? `--${field}`;
  });
}

function listText(incidents: readonly View[], now: number): string {
  if (incidents.length === 0) return 'no incidents\n';
  return formatTable(
    ['ID', 'SEV', 'STATUS', 'TITLE', 'SINCE', 'LEVEL', 'NEXT'],
    incidents.map((i) => [
      i.id,
      i.severity,
      i.status,
      i.title + (i.flapping ? ' [flapping]' : ''),
      `${formatDuration(now - Date.parse(i.failingSince))} ago`,
      String(i.escalationLevel),
      i.nextStep,
    ]),
  );
}

type Isolation = { service: string; status: string; output: string };
type Checklist = { step: string; text: string; ticked: boolean; at: string | null; by?: string; note?: string }[];
type ShownView = View & { timeline: Timeline; checklist?: Checklist | null };

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

function checklistLines(checklist: Checklist | null | undefined): string[] {
  if (!checklist) return [];
  return [
    '  checklist:',
    ...checklist.map(
      (i) =>
        `    [${i.ticked ? 'x' : ' '}] ${i.step.padEnd(11)} ${i.text}` +
        (i.ticked ? ` (${i.at} by ${i.by ?? '?'}${i.note ? `: ${i.note}` : ''})` : ''),
    ),
  ];
}

function checkText(view: ShownView, step: string): string {
  const open = (view.checklist ?? []).filter((i) => !i.ticked).map((i) => i.step);
  const lines = [
    `ticked ${step} on ${view.id} (${view.severity} ${view.title}); still to do: ${open.join(', ') || 'nothing'}`,
  ];
  return `${lines.map(escapeControlCharacters).join('\n')}\n`;
}

/** The Markdown report (already escaped by its renderer), or the JSON one. */
function reportText(body: { markdown?: string }): string {
  return typeof body.markdown === 'string' ? body.markdown : formatJson(body);
}

function showText(view: ShownView): string {
  const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
  const lines = [
    `${view.id}  ${view.severity}  ${view.status}  ${view.title}`,
    `  kind ${view.kind}${view.flapping ? ' (flapping)' : ''}, services ${view.services.join(', ') || '-'}, seen ${view.count}x`,
    `  failing since ${view.failingSince}, opened ${view.openedAt}`,
    `  MTTD ${ms(view.mttdMs)}  MTTA ${ms(view.mttaMs)}  MTTR ${ms(view.mttrMs)}  SLA ${view.slaMet === null ? 'pending' : view.slaMet ? 'met' : 'breached'}`,
    `  next: ${view.nextStep}`,
    ...checklistLines(view.checklist),
    '  timeline:',
    ...view.timeline.map((e) => `    ${e.at}  ${describeEntry({ ...e, at: Date.parse(e.at) } as TimelineEntry)}`),
  ];
  // Stored text (titles, notes, names) may predate the input rules: never let it reach the terminal raw.
  return `${lines.map(escapeControlCharacters).join('\n')}\n`;
}
