import { ShellCommandRunner } from '../adapters/local/shell-command-runner.ts';
import { formatInstant } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_LENGTH, type MaintenanceWindow } from '../core/escalation.ts';
import {
  fleetCommandParameters,
  type RollingUpdateMode,
  rollingUpdateParameters,
  type ServiceDocumentName,
  serviceCommandParameters,
} from '../core/ssm-document.ts';
import type { CommandResult } from '../ports.ts';
import { isolationWindowId } from '../use-cases/context.ts';
import { unmuteIncidents } from '../use-cases/unmute.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand } from './command.ts';
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

/** The maintenance window stop and stop-all open without --for. */
const DEFAULT_WINDOW_MS = 30 * 60_000;

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
      values.for === undefined ? DEFAULT_WINDOW_MS : durationOption('--for', values.for, MAINTENANCE_WINDOW_LENGTH);
    if ((values.update !== undefined || values.branch !== undefined) && action !== 'rolling-update')
      throw new UsageError('--update and --branch apply to rolling-update only');
    const update = (values.update ?? 'restart-only') as RollingUpdateMode;
    if (!UPDATE_MODES.includes(update))
      throw new UsageError(`--update must be ${UPDATE_MODES.join(' or ')}, got "${values.update}"`);
    if (values.branch !== undefined && update !== 'git-pull') throw new UsageError('--branch needs --update git-pull');

    const by = operatorName(values.by);
    const { config, runtime } = await openRuntimeFor(values, context, {
      // Diagnostics only runs its document: it records nothing and needs no state.
      access: action === 'diagnostics' ? 'none' : 'write',
      check: (config) => {
        const known = config.services.map((s) => s.name);
        const unknown = names.filter((n) => !known.includes(n));
        if (unknown.length > 0)
          throw new UsageError(`unknown service ${unknown.join(', ')} (services: ${known.join(', ')})`);
      },
    });
    try {
      const { ctx } = runtime;
      const known = new Set(config.services.map((s) => s.name));
      const now = ctx.clock.now();
      const runner = new ShellCommandRunner();
      const timeoutMs = config.remediation.restartTimeout;
      const stateDirectory = config.fleet.hostStateDirectory;
      const targets = names.length > 0 ? names : [...known];

      if (action === 'stop' || action === 'stop-all') {
        const window: MaintenanceWindow = {
          id: `mw-${now.toString(36)}`,
          subjects: action === 'stop-all' && names.length === 0 ? ['*'] : targets,
          startsAt: now,
          endsAt: now + windowMs,
          reason: `acgs-ops service ${action} by ${by}`,
          createdBy: by,
        };
        await ctx.control.putMaintenanceWindow(window);
        context.stderr(
          `maintenance window ${window.id} for ${window.subjects.join(', ')} until ${formatInstant(window.endsAt)}\n`,
        );
      }
      if (action === 'isolate') {
        const [name] = targets;
        if (name) await ctx.control.setIsolated(name, true, by, now);
      }

      let result: CommandResult;
      if (action === 'rolling-update') {
        // Per service: the git pull, the stop's grace and the restart's health wait fit in restartTimeout.
        const rolloutMs = timeoutMs * Math.max(1, targets.length) + 60_000;
        const window: MaintenanceWindow = {
          id: `mw-${now.toString(36)}`,
          subjects: targets,
          startsAt: now,
          endsAt: now + rolloutMs,
          reason: `acgs-ops service rolling-update by ${by}`,
          createdBy: by,
        };
        await ctx.control.putMaintenanceWindow(window);
        context.stderr(`maintenance window ${window.id} for ${targets.join(', ')} during the rolling update\n`);
        try {
          result = await runner.run({
            document: 'acgs-rolling-update',
            parameters: rollingUpdateParameters(config, {
              services: targets,
              stateDirectory,
              update,
              ...(values.branch === undefined ? {} : { branch: values.branch }),
            }),
            timeoutMs: rolloutMs,
          });
        } finally {
          await ctx.control.putMaintenanceWindow({ ...window, endsAt: Math.max(window.startsAt, ctx.clock.now()) });
          await unmuteIncidents(ctx, [window.id]);
          context.stderr(`maintenance window ${window.id} ended\n`);
        }
      } else if (FLEET.has(action)) {
        const document = action === 'start-all' ? 'acgs-start-all' : 'acgs-stop-all';
        result = await runner.run({
          document,
          parameters: fleetCommandParameters(config, document, { services: targets, stateDirectory }),
          timeoutMs: timeoutMs * 2,
        });
      } else {
        const [name] = targets;
        if (!name) throw new UsageError('a service name is required');
        if (action === 'start' && !values.force && (await ctx.control.listIsolated()).has(name))
          throw new UsageError(`${name} is isolated; release it first, or start it with --force`);
        const document =
          `acgs-${action === 'diagnostics' ? 'collect-diagnostics' : `${action}-service`}` as ServiceDocumentName;
        result = await runner.run({
          document,
          parameters: serviceCommandParameters(config, name, { document, stateDirectory, force: values.force }),
          timeoutMs,
        });
        if (result.status === 'succeeded' && (action === 'release' || (action === 'start' && values.force))) {
          await ctx.control.setIsolated(name, false, by, now);
          await unmuteIncidents(ctx, [isolationWindowId(name)]);
        }
      }

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
