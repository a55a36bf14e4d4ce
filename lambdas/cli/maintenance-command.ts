import { escapeControlCharacters } from '../core/control-characters.ts';
import { formatInstant, MINUTE_MS } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_DELAY, MAINTENANCE_WINDOW_LENGTH } from '../core/escalation.ts';
import { checkInput, incidentReason } from '../core/operator-input.ts';
import { formatTable } from '../core/text-table.ts';
import type { windowView } from '../use-cases/api/maintenance-routes.ts';
import { checkMaintenanceSubjects } from '../use-cases/maintenance.ts';
import type { ApiRequest } from '../use-cases/operator-api.ts';
import { API_TARGET_HELP, API_TARGET_OPTIONS, answerError, apiTarget, callApi } from './api-target.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops maintenance start --for DURATION --reason TEXT [--service NAME]... [--in DURATION]
  acgs-ops maintenance list
  acgs-ops maintenance end ID

A maintenance window mutes paging and automatic restarts for the services it covers (all of them without
--service; a check name such as postgresql works too). Detection goes on: incidents still open and are paged,
if still open, when the window ends. Through the operator API, on this host (--target local) or in AWS
(--target aws); opening and ending go on the audit trail and on the timelines of the open incidents concerned.

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --for DURATION   how long (e.g. 45m, 2h; 1m to 7d, whole minutes rounded up: open a new window when the
                       work goes on)
      --in DURATION    start later instead of now (up to 30d)
      --service NAME   a service or check the window covers (repeatable)
      --reason TEXT    why (recorded)
      --by NAME        who, --target local only (default: your login name)
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  for: { type: 'string' },
  in: { type: 'string' },
  service: { type: 'string', multiple: true },
  reason: { type: 'string' },
  by: { type: 'string' },
} as const;

type WindowView = ReturnType<typeof windowView>;

export const maintenanceCommand: CliCommand = {
  name: 'maintenance',
  summary: 'open, list or end maintenance windows (mute paging and restarts, not detection)',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('maintenance', args, OPTIONS);
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (action !== 'start' && action !== 'list' && action !== 'end')
      throw new UsageError('acgs-ops maintenance needs an action: start, list or end');
    // Checked before the state is opened or anything is sent: bad input creates nothing.
    const reason = values.reason?.trim() ? checkInput(incidentReason, values.reason, '--reason') : undefined;
    const start = action === 'start' ? startOptions(values, reason) : undefined;
    if (action === 'end' && !id)
      throw new UsageError('maintenance end needs a window id (see acgs-ops maintenance list)');
    const subjects = values.service ?? ['*'];
    const target = apiTarget(values);
    const request: Omit<ApiRequest, 'caller'> =
      action === 'list'
        ? { method: 'GET', path: '/maintenance', query: {}, body: undefined }
        : action === 'end'
          ? { method: 'POST', path: `/maintenance/${encodeURIComponent(id ?? '')}/end`, query: {}, body: '{}' }
          : {
              method: 'POST',
              path: '/maintenance',
              query: {},
              body: JSON.stringify({
                subjects,
                minutes: start?.minutes,
                reason: start?.reason,
                ...(start?.delayMinutes ? { delayMinutes: start.delayMinutes } : {}),
              }),
            };
    const response = await callApi(target, request, {
      values,
      context,
      access: action === 'list' ? 'read' : 'write',
      check: (config) => {
        if (action === 'start') checkMaintenanceSubjects(config, subjects);
      },
    });
    if (response.statusCode === 400 || response.statusCode === 404) throw new UsageError(answerError(response));
    if (response.statusCode >= 300) throw new ControlPlaneError('API_ERROR', answerError(response));

    if (values.json) {
      context.stdout(formatJson(response.body));
      return 0;
    }
    if (action === 'list') {
      const { windows } = response.body as { windows: WindowView[] };
      context.stdout(
        windows.length === 0
          ? 'no current or future maintenance windows\n'
          : formatTable(
              ['ID', 'COVERS', 'FROM', 'UNTIL', 'BY', 'REASON'],
              windows.map((w) => [
                w.id,
                w.subjects.join(','),
                formatInstant(w.startsAt),
                formatInstant(w.endsAt),
                w.by,
                w.reason,
              ]),
            ),
      );
      return 0;
    }
    context.stdout(escapeControlCharacters((response.body as { output: string }).output.trimEnd()) + '\n');
    return 0;
  },
};

/** What `start` needs, checked in the order an operator fixes it: --for, its range, --in, --reason (exit 64). */
function startOptions(
  values: { for?: string | undefined; in?: string | undefined },
  reason: string | undefined,
): { minutes: number; delayMinutes: number; reason: string } {
  if (values.for === undefined) throw new UsageError('maintenance start needs --for DURATION (e.g. 45m)');
  const length = durationOption('--for', values.for, MAINTENANCE_WINDOW_LENGTH);
  const delay = values.in === undefined ? 0 : durationOption('--in', values.in, MAINTENANCE_WINDOW_DELAY);
  if (reason === undefined) throw new UsageError('maintenance start needs --reason TEXT');
  return { minutes: Math.ceil(length / MINUTE_MS), delayMinutes: Math.ceil(delay / MINUTE_MS), reason };
}
