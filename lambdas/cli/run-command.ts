import { deadMansSwitchUrl, HttpDeadMansSwitch } from '../adapters/http/dead-mans-switch.ts';
import { LocalSecretSource } from '../adapters/local/local-secret-source.ts';
import { LocalDaemon } from '../local/daemon.ts';
import { acquireDaemonLock, type DaemonLock } from '../local/daemon-lock.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor } from './local-options.ts';

const USAGE = `Usage: acgs-ops run [--config FILE] [--state DIR]

Runs the control plane on this host until interrupted: probes on the config's schedule, opens, groups and escalates
incidents, pages, restarts down services through the SSM documents, and auto-resolves. State (SQLite), the page
log (pages.jsonl) and a heartbeat (heartbeat.json) live in the state directory; a restarted daemon resumes open
incidents and their escalations from there.

Options:
${LOCAL_OPTIONS_HELP}
`;

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run the control plane daemon on this host (embedded state)',
  usage: USAGE,
  async run(args, context) {
    const values = parseCommandArgs('run', args, LOCAL_OPTIONS);
    const { config, runtime } = await openRuntimeFor(values, context, { access: 'write' });
    let lock: DaemonLock;
    try {
      lock = acquireDaemonLock(runtime.stateDir);
    } catch (error) {
      runtime.close();
      throw error;
    }
    const secrets = new LocalSecretSource();
    const dms = config.deadMansSwitch;
    const pinger =
      dms && new HttpDeadMansSwitch(deadMansSwitchUrl(dms, secrets), { timeoutMs: dms.timeout, log: runtime.ctx.log });
    const daemon = new LocalDaemon(runtime, new NetworkProber(context.clock, secrets), pinger);
    context.stderr(
      `acgs-ops run: ${config.fleet.name}, ${runtime.ctx.targets.length} targets, state in ${runtime.stateDir}; Ctrl-C stops\n`,
    );
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await daemon.start();
    const signal = await stopped;
    context.stderr(`acgs-ops run: ${signal}, finishing the current step\n`);
    await daemon.stop();
    lock.release();
    return 0;
  },
};
