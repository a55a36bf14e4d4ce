import { formatInstant } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_DELAY, MAINTENANCE_WINDOW_LENGTH } from '../core/escalation.ts';
import { checkInput, incidentReason } from '../core/operator-input.ts';
import { formatTable } from '../core/text-table.ts';
import { checkMaintenanceSubjects, endMaintenanceWindow, openMaintenanceWindow } from '../use-cases/maintenance.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops maintenance start --for DURATION --reason TEXT [--service NAME]... [--in DURATION]
  acgs-ops maintenance list
  acgs-ops maintenance end ID

A maintenance window mutes paging and automatic restarts for the services it covers (all of them without
--service; a check name such as postgresql works too). Detection goes on: incidents still open and are paged,
if still open, when the window ends.

Options:
${LOCAL_OPTIONS_HELP}
      --for DURATION   how long (e.g. 45m, 2h; 1m to 7d: open a new window when the work goes on)
      --in DURATION    start later instead of now (up to 30d)
      --service NAME   a service or check the window covers (repeatable)
      --reason TEXT    why (recorded)
      --by NAME        who (default: your login name)
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  for: { type: 'string' },
  in: { type: 'string' },
  service: { type: 'string', multiple: true },
  reason: { type: 'string' },
  by: { type: 'string' },
} as const;

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
    // Checked before the state is opened: bad input creates nothing.
    const reason = values.reason?.trim() ? checkInput(incidentReason, values.reason, '--reason') : undefined;
    const by = operatorName(values.by);
    const start = action === 'start' ? startOptions(values, reason) : undefined;
    const subjects = values.service ?? ['*'];
    const { runtime } = await openRuntimeFor(values, context, {
      access: action === 'list' ? 'read' : 'write',
      check: (config) => {
        if (action === 'start') checkMaintenanceSubjects(config, subjects);
      },
    });
    try {
      const { ctx } = runtime;
      if (action === 'list') {
        const windows = await ctx.control.listMaintenanceWindows(ctx.clock.now());
        context.stdout(
          values.json
            ? formatJson(windows)
            : windows.length === 0
              ? 'no current or future maintenance windows\n'
              : formatTable(
                  ['ID', 'COVERS', 'FROM', 'UNTIL', 'BY', 'REASON'],
                  windows.map((w) => [
                    w.id,
                    w.subjects.join(','),
                    formatInstant(w.startsAt),
                    formatInstant(w.endsAt),
                    w.createdBy,
                    w.reason,
                  ]),
                ),
        );
        return 0;
      }
      if (action === 'end') {
        if (!id) throw new UsageError('maintenance end needs a window id (see acgs-ops maintenance list)');
        const { unmuted } = await endMaintenanceWindow(ctx, id);
        context.stdout(
          `ended ${id}${unmuted.length > 0 ? `; ${unmuted.length} muted incident(s) page at the next sweep` : ''}\n`,
        );
        return 0;
      }
      // Only start gets here, and startOptions has checked its options.
      if (start === undefined) throw new UsageError('maintenance start needs --for and --reason');
      const opened = await openMaintenanceWindow(ctx, {
        subjects,
        lengthMs: start.length,
        delayMs: start.delay,
        reason: start.reason,
        by,
      });
      context.stdout(
        values.json
          ? formatJson(opened)
          : `opened ${opened.id} for ${opened.subjects.join(', ')} from ${formatInstant(opened.startsAt)} until ${formatInstant(opened.endsAt)}\n`,
      );
      return 0;
    } finally {
      runtime.close();
    }
  },
};

/** What `start` needs, checked in the order an operator fixes it: --for, its range, --in, --reason (exit 64). */
function startOptions(
  values: { for?: string | undefined; in?: string | undefined },
  reason: string | undefined,
): { length: number; delay: number; reason: string } {
  if (values.for === undefined) throw new UsageError('maintenance start needs --for DURATION (e.g. 45m)');
  const length = durationOption('--for', values.for, MAINTENANCE_WINDOW_LENGTH);
  const delay = values.in === undefined ? 0 : durationOption('--in', values.in, MAINTENANCE_WINDOW_DELAY);
  if (reason === undefined) throw new UsageError('maintenance start needs --reason TEXT');
  return { length, delay, reason };
}
