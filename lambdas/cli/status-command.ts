import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { formatDuration, formatInstant } from '../core/duration.ts';
import { formatTable } from '../core/text-table.ts';
import type { Heartbeat } from '../local/daemon.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage: acgs-ops status [--config FILE] [--state DIR] [--json]

What the local control plane knows: whether the daemon is alive (its heartbeat), the health of every target as the
thresholds judged it, open incidents, isolated services and maintenance windows.

Options:
${LOCAL_OPTIONS_HELP}

Exit status: 0 daemon alive and no open incident, 1 open incidents, 2 daemon not running: silent (no heartbeat
within three probe intervals and no clean stop recorded: killed, crashed or hung), stopped cleanly (SIGTERM or
Ctrl-C), or never ran (no state in the directory: nothing is created), 64 usage or config error or --state naming a
file, 74 the state cannot be opened (empty, corrupt, foreign or unreadable).
`;

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'show the daemon heartbeat, target health, open incidents and isolated services',
  usage: USAGE,
  async run(args, context) {
    const values = parseCommandArgs('status', args, LOCAL_OPTIONS);
    // No state at all is a host where no daemon has run: critical (2), which monitors watch for, not a usage error.
    const { runtime, stateMissing } = await openRuntimeFor(values, context, { access: 'read', whenMissing: 'empty' });
    const neverRan = `daemon has never run here: no control-plane state in ${runtime.stateDir}`;
    try {
      const { ctx } = runtime;
      const now = ctx.clock.now();
      const heartbeat = await readHeartbeat(join(runtime.stateDir, 'heartbeat.json'));
      const age = heartbeat ? now - Date.parse(heartbeat.at) : undefined;
      // A clean stop is recorded in the heartbeat; a daemon that stops beating without one was killed or hangs.
      const stoppedAt = heartbeat?.stoppedAt;
      const alive =
        stoppedAt === undefined &&
        age !== undefined &&
        age <= 3 * ctx.health.probeIntervalMs + ctx.config.thresholds.probeTimeout;
      const silentSince = heartbeat && !alive && stoppedAt === undefined ? heartbeat.at : undefined;
      const states = await ctx.states.loadTargetStates(ctx.targets.map((t) => t.id));
      const open = await ctx.incidents.listOpenIncidents();
      const isolated = [...(await ctx.control.listIsolated())];
      const windows = (await ctx.control.listMaintenanceWindows(now)).filter((w) => w.startsAt <= now);
      const targets = ctx.targets.map((t) => {
        const s = states.get(t.id);
        return {
          name: t.name,
          kind: t.kind,
          health: s?.health ?? 'unknown',
          flapping: s?.flapping ?? false,
          since: s ? new Date(s.since).toISOString() : null,
          lastProblem: s?.lastProblem ?? null,
        };
      });
      if (values.json) {
        if (stateMissing) context.stderr(`acgs-ops: ${neverRan}\n`);
        context.stdout(
          formatJson({
            daemon: {
              alive,
              stoppedCleanly: stoppedAt !== undefined,
              stoppedAt: stoppedAt ?? null,
              silentSince: silentSince ?? null,
              heartbeat: heartbeat ?? null,
              ageMs: age ?? null,
            },
            targets,
            openIncidents: open.map((i) => ({ id: i.id, severity: i.severity, status: i.status, title: i.title })),
            isolated,
            maintenance: windows,
          }),
        );
      } else {
        const daemonLine = stateMissing
          ? `${neverRan} (start it with acgs-ops run, or pass --state to name its state directory)`
          : heartbeat
            ? describeDaemon(heartbeat, alive, age ?? 0)
            : 'daemon has never run with this state directory';
        const state = heartbeat?.state;
        const stateLine =
          state && !state.writable
            ? `STATE NOT WRITABLE since ${state.since ?? '?'}: ${state.error ?? 'unknown error'}; the daemon holds ${state.pendingChanges} change(s) in memory and pages on`
            : undefined;
        context.stdout(
          [
            daemonLine,
            ...(stateLine ? [stateLine] : []),
            '',
            formatTable(
              ['TARGET', 'KIND', 'HEALTH', 'SINCE', 'LAST PROBLEM'],
              targets.map((t) => [
                t.name,
                t.kind,
                t.health + (t.flapping ? ' (flapping)' : ''),
                t.since ?? '-',
                t.lastProblem ?? '-',
              ]),
            ).trimEnd(),
            '',
            open.length === 0
              ? 'no open incidents'
              : `${open.length} open incident(s):\n${open.map((i) => `  ${i.id}  ${i.severity}  ${i.status}  ${escapeControlCharacters(i.title)}`).join('\n')}`,
            isolated.length > 0 ? `isolated: ${isolated.join(', ')}` : 'isolated: none',
            windows.length > 0
              ? `maintenance: ${windows.map((w) => `${w.id} (${w.subjects.join(',')}) until ${formatInstant(w.endsAt)}`).join('; ')}`
              : 'maintenance: none',
            '',
          ].join('\n'),
        );
      }
      if (!alive) return 2;
      return open.length > 0 ? 1 : 0;
    } finally {
      runtime.close();
    }
  },
};

function describeDaemon(heartbeat: Heartbeat, alive: boolean, age: number): string {
  const detail = `pid ${heartbeat.pid}, ${heartbeat.cycles} cycles, last took ${heartbeat.lastCycleMs} ms`;
  if (heartbeat.stoppedAt !== undefined)
    return `daemon STOPPED cleanly at ${heartbeat.stoppedAt} (${detail}): not running; start it with acgs-ops run`;
  if (!alive)
    return `daemon SILENT since ${heartbeat.at}: last cycle ${formatDuration(age)} ago and no clean stop recorded (${detail}): killed, crashed or hung`;
  return `daemon alive: last cycle ${formatDuration(age)} ago (${detail})`;
}

async function readHeartbeat(file: string): Promise<Heartbeat | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Heartbeat;
  } catch {
    return undefined;
  }
}
