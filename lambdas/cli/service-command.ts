import { escapeControlCharacters } from '../core/control-characters.ts';
import type { RollingUpdateMode } from '../core/document-parameters.ts';
import { formatDuration, MINUTE_MS } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_LENGTH } from '../core/escalation.ts';
import type { ApiRequest, ApiResponse } from '../use-cases/operator-api.ts';
import { checkServiceNames, collectDiagnostics } from '../use-cases/service-procedures.ts';
import {
  API_TARGET_HELP,
  API_TARGET_OPTIONS,
  answerError,
  apiTarget,
  callApi,
  PROCEDURE_TIMEOUT_MS,
} from './api-target.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops service start NAME [--force]
  acgs-ops service stop NAME [--for DURATION]
  acgs-ops service restart NAME [--force]
  acgs-ops service isolate NAME
  acgs-ops service release NAME
  acgs-ops service diagnostics NAME
  acgs-ops service start-all [NAME...]
  acgs-ops service stop-all [NAME...] [--for DURATION]
  acgs-ops service restart-all [NAME...] [--for DURATION]
  acgs-ops service rolling-update [NAME...] [--update restart-only|git-pull] [--branch B]

The runbook's service procedures, through the operator API: on this host (--target local, in-process: the SSM
documents in ssm-documents/ run here) or in AWS (--target aws: SSM Run Command on the service's host, signed with
your AWS credentials). Services are found by the port they listen on. Every procedure goes on the timeline of the
open incidents about its services and on the audit trail (acgs-ops audit).

  stop, stop-all   also open a maintenance window (default 30m, --for to change) so that the control plane
                   does not page about, or restart, what you stopped on purpose
  restart-all      the emergency restart: opens a maintenance window, stops every service (or those named),
                   then starts them one at a time in order (default: config order), each verified healthy;
                   stops at the first that does not come back and names it. The window ends with it
  isolate          records the service as isolated (no automatic restart brings it back, no page about it),
                   then stops it
  release          lifts the isolation; if the control plane still sees the service down, it restarts it
                   (within a probe cycle or two) and pages about it as usual
  start --force    starts an isolated service anyway and lifts its isolation
  rolling-update   restarts the services one at a time, in the order given (default: config order), each
                   first fast-forwarded with git pull --ff-only origin B when --update git-pull; stops at the
                   first service that does not come back healthy (the rest keep running the old version).
                   Isolated services are skipped. A maintenance window covers the services for the rollout
                   and ends with it, whatever the result
  diagnostics      this host only (--target local): runs the diagnostics document, records nothing

A list of services on several hosts runs one fleet document per consecutive run of services on one host.

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --for DURATION maintenance window of stop/stop-all/restart-all (e.g. 30m, 2h; 1m to 7d; whole minutes,
                     rounded up)
      --force        start even if isolated
      --update MODE  rolling-update: restart-only (default) or git-pull
      --branch B     rolling-update with git-pull: the branch of origin (default main)
      --by NAME      who acts, --target local only (default: your login name)

Exit status: 0 done, 1 the procedure failed, 2 refused (isolated, or the port is held by something else), 64 usage
(including an unknown service, or start of an isolated one without --force), 70 the operator API failed,
74 the state cannot be opened or created (every action but diagnostics records in it).
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  for: { type: 'string' },
  force: { type: 'boolean', default: false },
  by: { type: 'string' },
  update: { type: 'string' },
  branch: { type: 'string' },
} as const;

const UPDATE_MODES: readonly RollingUpdateMode[] = ['restart-only', 'git-pull'];

const SINGLE = new Set(['start', 'stop', 'restart', 'isolate', 'release', 'diagnostics']);
const FLEET = new Set(['start-all', 'stop-all', 'restart-all', 'rolling-update']);
const WINDOWED = new Set(['stop', 'stop-all', 'restart-all']);

/** A procedure's answer (use-cases/api/procedure-response.ts). */
interface ProcedureAnswer {
  readonly procedure: string;
  readonly services: readonly string[];
  readonly status: string;
  readonly exitCode?: number;
  readonly output: string;
  readonly window?: { readonly id: string; readonly subjects: readonly string[]; readonly until: string };
  readonly steps?: readonly { name: string; status: string; durationMs: number; detail: string }[];
  readonly error?: string;
}

export const serviceCommand: CliCommand = {
  name: 'service',
  summary: 'start, stop, restart, isolate, release or diagnose services (on this host or in AWS)',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('service', args, OPTIONS);
    const [action, ...names] = positionals;
    if (action === undefined) throw new UsageError(`acgs-ops service needs an action (see acgs-ops service --help)`);
    if (!SINGLE.has(action) && !FLEET.has(action))
      throw new UsageError(`unknown action "${action}" (actions: ${[...SINGLE, ...FLEET].join(', ')})`);
    if (SINGLE.has(action) && names.length !== 1)
      throw new UsageError(`acgs-ops service ${action} takes exactly one service name`);
    const windowMs =
      values.for === undefined ? undefined : durationOption('--for', values.for, MAINTENANCE_WINDOW_LENGTH);
    if (windowMs !== undefined && !WINDOWED.has(action))
      throw new UsageError('--for applies to stop, stop-all and restart-all only');
    if ((values.update !== undefined || values.branch !== undefined) && action !== 'rolling-update')
      throw new UsageError('--update and --branch apply to rolling-update only');
    const update = (values.update ?? 'restart-only') as RollingUpdateMode;
    if (!UPDATE_MODES.includes(update))
      throw new UsageError(`--update must be ${UPDATE_MODES.join(' or ')}, got "${values.update}"`);
    if (values.branch !== undefined && update !== 'git-pull') throw new UsageError('--branch needs --update git-pull');
    if (values.force && action !== 'start' && action !== 'restart')
      throw new UsageError('--force applies to start and restart only');
    const target = apiTarget(values);

    if (action === 'diagnostics') {
      if (target.kind === 'aws') throw new UsageError('diagnostics runs on this host only (--target local)');
      return diagnostics(values, names[0] ?? '', context);
    }

    const request = toRequest(action, names, {
      force: values.force,
      update,
      ...(windowMs === undefined ? {} : { windowMinutes: Math.ceil(windowMs / MINUTE_MS) }),
      ...(values.branch === undefined ? {} : { branch: values.branch }),
    });
    const response = await callApi(target, request, {
      values,
      context,
      access: 'write',
      check: (config) => checkServiceNames(config, names),
      timeoutMs: PROCEDURE_TIMEOUT_MS,
    });
    return report(action, names, response, values.json, context);
  },
};

interface RequestOptions {
  readonly force: boolean;
  readonly update: RollingUpdateMode;
  readonly windowMinutes?: number;
  readonly branch?: string;
}

/** The operator API request of `action` (checked by the caller). */
function toRequest(action: string, names: readonly string[], options: RequestOptions): Omit<ApiRequest, 'caller'> {
  const post = (path: string, body: Record<string, unknown>) => ({
    method: 'POST',
    path,
    query: {},
    body: JSON.stringify(body),
  });
  const window = options.windowMinutes === undefined ? {} : { windowMinutes: options.windowMinutes };
  const fleet = names.length > 0 ? { services: [...names] } : {};
  // The name is one path segment, whatever was typed: the API refuses it by name if it is not a service.
  const one = `/services/${encodeURIComponent(names[0] ?? '')}`;
  switch (action) {
    case 'start':
    case 'restart':
      return post(`${one}/${action}`, options.force ? { force: true } : {});
    case 'stop':
      return post(`${one}/stop`, window);
    case 'isolate':
    case 'release':
      return post(`${one}/${action}`, {});
    case 'start-all':
      return post('/fleet/start-all', fleet);
    case 'stop-all':
    case 'restart-all':
      return post(`/fleet/${action}`, { ...fleet, ...window });
    default:
      return post('/fleet/rolling-update', {
        ...fleet,
        update: options.update,
        ...(options.branch === undefined ? {} : { branch: options.branch }),
      });
  }
}

/** Prints the procedure's outcome and returns the exit status: 0 done, 1 failed, 2 refused. */
function report(
  action: string,
  names: readonly string[],
  response: ApiResponse,
  json: boolean,
  context: CliContext,
): number {
  const body = response.body as Partial<ProcedureAnswer> | undefined;
  const isProcedure = typeof body === 'object' && body !== null && typeof body.procedure === 'string';
  if (response.statusCode === 400 || response.statusCode === 404) throw new UsageError(answerError(response));
  if (!isProcedure) throw new ControlPlaneError('API_ERROR', answerError(response));
  const answer = body as ProcedureAnswer;
  if (action === 'start' && response.statusCode === 409 && answer.output === '')
    throw new UsageError(`${names[0]} is isolated; release it first, or start it with --force`);
  if (json) context.stdout(formatJson(answer));
  else {
    context.stdout(answer.output.endsWith('\n') || answer.output === '' ? answer.output : `${answer.output}\n`);
    for (const step of answer.steps ?? [])
      context.stdout(
        escapeControlCharacters(
          `  ${step.status.padEnd(9)} ${step.name} (${formatDuration(step.durationMs)})${step.detail ? `: ${step.detail}` : ''}`,
        ) + '\n',
      );
  }
  if (answer.window)
    context.stderr(
      `maintenance window ${answer.window.id} for ${answer.window.subjects.join(', ')} until ${answer.window.until}\n`,
    );
  if (answer.status === 'succeeded' || answer.status === 'pending') return 0;
  context.stderr(
    `acgs-ops service ${action}: ${answer.status}${answer.exitCode === undefined ? '' : ` (exit ${answer.exitCode})`}\n`,
  );
  if (action === 'isolate') context.stderr(`${names[0]} stays marked isolated: no automatic restart will start it\n`);
  return response.statusCode === 409 ? 2 : 1;
}

/** Diagnostics of one service on this host: its document only, recording nothing (no state needed). */
async function diagnostics(
  values: { config?: string | undefined; state?: string | undefined; json: boolean },
  service: string,
  context: CliContext,
): Promise<number> {
  const { runtime } = await openRuntimeFor(values, context, {
    access: 'none',
    check: (config) => checkServiceNames(config, [service]),
  });
  try {
    const { result } = await collectDiagnostics(runtime.ctx, { service });
    if (values.json) context.stdout(formatJson({ action: 'diagnostics', services: [service], ...result }));
    else context.stdout(result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`);
    if (result.status === 'succeeded') return 0;
    context.stderr(
      `acgs-ops service diagnostics: ${result.status}${result.exitCode === undefined ? '' : ` (exit ${result.exitCode})`}\n`,
    );
    return result.exitCode === 2 || result.status === 'rejected' ? 2 : 1;
  } finally {
    runtime.close();
  }
}
