import type { RollingUpdateMode } from '../core/document-parameters.ts';
import { formatInstant } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_LENGTH } from '../core/escalation.ts';
import type { ControlPlaneContext } from '../use-cases/context.ts';
import {
  checkServiceNames,
  collectDiagnostics,
  isolateService,
  type ProcedureRun,
  releaseService,
  restartService,
  rollingUpdate,
  SERVICE_ISOLATED,
  startAll,
  startService,
  stopAll,
  stopService,
  type WindowObserver,
} from '../use-cases/service-procedures.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops service start NAME [--force]
  acgs-ops service stop NAME [--for DURATION]
  acgs-ops service restart NAME
  acgs-ops service isolate NAME
  acgs-ops service release NAME
  acgs-ops service diagnostics NAME
  acgs-ops service start-all [NAME...]
  acgs-ops service stop-all [NAME...] [--for DURATION]
  acgs-ops service rolling-update [NAME...] [--update restart-only|git-pull] [--branch B]

The runbook's service procedures, run through the SSM documents in ssm-documents/ on this host (the same documents
SSM Run Command runs in AWS). Services are found by the port they listen on.

  stop, stop-all   also open a maintenance window (default 30m, --for to change) so that the control plane
                   does not page about, or restart, what you stopped on purpose
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

Options:
${LOCAL_OPTIONS_HELP}
      --for DURATION maintenance window opened by stop/stop-all (e.g. 30m, 2h; 1m to 7d)
      --force        start even if isolated
      --update MODE  rolling-update: restart-only (default) or git-pull
      --branch B     rolling-update with git-pull: the branch of origin (default main)
      --by NAME      who acts (default: your login name)

Exit status: 0 done, 1 the document failed, 2 refused (isolated, or the port is held by something else), 64 usage
(including an unknown service, or start of an isolated one without --force), 74 the state cannot be opened or
created (every action but diagnostics records in it).
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  for: { type: 'string' },
  force: { type: 'boolean', default: false },
  by: { type: 'string' },
  update: { type: 'string' },
  branch: { type: 'string' },
} as const;

const UPDATE_MODES: readonly RollingUpdateMode[] = ['restart-only', 'git-pull'];

const SINGLE = new Set(['start', 'stop', 'restart', 'isolate', 'release', 'diagnostics']);
const FLEET = new Set(['start-all', 'stop-all', 'rolling-update']);

export const serviceCommand: CliCommand = {
  name: 'service',
  summary: 'start, stop, restart, isolate, release or diagnose services (SSM documents, run locally)',
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
    if ((values.update !== undefined || values.branch !== undefined) && action !== 'rolling-update')
      throw new UsageError('--update and --branch apply to rolling-update only');
    const update = (values.update ?? 'restart-only') as RollingUpdateMode;
    if (!UPDATE_MODES.includes(update))
      throw new UsageError(`--update must be ${UPDATE_MODES.join(' or ')}, got "${values.update}"`);
    if (values.branch !== undefined && update !== 'git-pull') throw new UsageError('--branch needs --update git-pull');

    const by = operatorName(values.by);
    const { runtime } = await openRuntimeFor(values, context, {
      // Diagnostics only runs its document: it records nothing and needs no state.
      access: action === 'diagnostics' ? 'none' : 'write',
      check: (config) => checkServiceNames(config, names),
    });
    try {
      const { services: targets, result } = await runAction(runtime.ctx, action, names, context, {
        by,
        force: values.force,
        update,
        ...(windowMs === undefined ? {} : { windowMs }),
        ...(values.branch === undefined ? {} : { branch: values.branch }),
      });
      if (values.json) context.stdout(formatJson({ action, services: targets, ...result }));
      else context.stdout(result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`);
      if (result.status === 'succeeded') return 0;
      context.stderr(
        `acgs-ops service ${action}: ${result.status}${result.exitCode === undefined ? '' : ` (exit ${result.exitCode})`}\n`,
      );
      if (action === 'isolate')
        context.stderr(`${targets[0]} stays marked isolated: no automatic restart will start it\n`);
      return result.exitCode === 2 || result.status === 'rejected' ? 2 : 1;
    } finally {
      runtime.close();
    }
  },
};

interface ActionOptions {
  readonly by: string;
  readonly force: boolean;
  readonly update: RollingUpdateMode;
  readonly windowMs?: number;
  readonly branch?: string;
}

/** Runs the procedure of `action` (checked by the caller), telling the operator about the windows it opens. */
function runAction(
  ctx: ControlPlaneContext,
  action: string,
  names: readonly string[],
  context: CliContext,
  options: ActionOptions,
): Promise<ProcedureRun> {
  const { by, force, update, windowMs, branch } = options;
  const [service = ''] = names;
  const fleet = names.length > 0 ? { services: names } : {};
  const length = windowMs === undefined ? {} : { windowMs };
  const onWindow: WindowObserver = ({ window }) =>
    context.stderr(
      `maintenance window ${window.id} for ${window.subjects.join(', ')} until ${formatInstant(window.endsAt)}\n`,
    );
  switch (action) {
    case 'start':
      return startService(ctx, { service, by, force }).catch((error: unknown) => {
        if (error instanceof ControlPlaneError && error.code === SERVICE_ISOLATED)
          throw new UsageError(`${service} is isolated; release it first, or start it with --force`, { cause: error });
        throw error;
      });
    case 'stop':
      return stopService(ctx, { service, by, onWindow, ...length });
    case 'restart':
      return restartService(ctx, { service, force });
    case 'isolate':
      return isolateService(ctx, { service, by });
    case 'release':
      return releaseService(ctx, { service, by });
    case 'diagnostics':
      return collectDiagnostics(ctx, { service });
    case 'start-all':
      return startAll(ctx, fleet);
    case 'stop-all':
      return stopAll(ctx, { ...fleet, by, onWindow, ...length });
    default:
      return rollingUpdate(ctx, {
        ...fleet,
        by,
        update,
        ...(branch === undefined ? {} : { branch }),
        onWindow: ({ change, window }) =>
          context.stderr(
            change === 'opened'
              ? `maintenance window ${window.id} for ${window.subjects.join(', ')} during the rolling update\n`
              : `maintenance window ${window.id} ended\n`,
          ),
      });
  }
}
