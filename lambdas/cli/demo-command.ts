import { runDemo } from '../demo/demo.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';

const USAGE = `Usage: acgs-ops demo [--quiet]

Runs the control plane against a simulated ACGS-1 fleet of real processes on local ports (and a throwaway
PostgreSQL when its binaries are installed), with embedded state in a temporary directory, and plays four acts:
a crash (detected, paged, restarted, resolved), a slow service (P3), four services down at once (one P1 that
escalates level by level until acknowledged), and, with PostgreSQL, a real backup and restore drill measuring
RTO/RPO. Prints each incident's timeline with MTTD/MTTR and cleans up everything it started, also on Ctrl-C.
No AWS account needed.

Options:
      --quiet   print only the acts and timelines, not every page and event
`;

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run the control plane against a simulated fleet and play an incident scenario',
  usage: USAGE,
  async run(args, context) {
    const values = parseCommandArgs('demo', args, { quiet: { type: 'boolean', default: false } });
    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      return await runDemo({ write: context.stdout, signal: controller.signal, verbose: !values.quiet });
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  },
};
