#!/usr/bin/env -S npx tsx
/**
 * acgs-ops: the operator CLI. This file only wires; each subcommand lives in its own module under lambdas/cli/.
 * To add one: write lambdas/cli/<name>-command.ts exporting a CliCommand and list it below.
 */
import { auditCommand } from '../lambdas/cli/audit-command.ts';
import { backupCommand } from '../lambdas/cli/backup-command.ts';
import { demoCommand } from '../lambdas/cli/demo-command.ts';
import { escalationCommand } from '../lambdas/cli/escalation-command.ts';
import { healthCommand } from '../lambdas/cli/health-command.ts';
import { incidentCommand } from '../lambdas/cli/incident-command.ts';
import { maintenanceCommand } from '../lambdas/cli/maintenance-command.ts';
import { proceduresCommand } from '../lambdas/cli/procedures-command.ts';
import { runCli } from '../lambdas/cli/run-cli.ts';
import { runCommand } from '../lambdas/cli/run-command.ts';
import { runbookCommand } from '../lambdas/cli/runbook-command.ts';
import { serviceCommand } from '../lambdas/cli/service-command.ts';
import { statusCommand } from '../lambdas/cli/status-command.ts';
import { systemClock } from '../lambdas/ports.ts';

const commands = [
  healthCommand,
  runCommand,
  statusCommand,
  incidentCommand,
  serviceCommand,
  maintenanceCommand,
  auditCommand,
  backupCommand,
  proceduresCommand,
  demoCommand,
  runbookCommand,
  escalationCommand,
];

process.exitCode = await runCli(process.argv.slice(2), commands, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  clock: systemClock,
});
