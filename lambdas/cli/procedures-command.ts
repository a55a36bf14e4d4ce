import { checkInput } from '../core/operator-input.ts';
import { ALERTS, formatProcedures, proceduresFor } from '../core/procedures.ts';
import { proceduresQuery } from '../use-cases/api/procedure-routes.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage: acgs-ops procedures [--severity P1|P2|P3] [--alert ${ALERTS.join('|')}] [--json]

The runbook's response procedures for a situation: the severity's (Incident Response > Severity Levels) and the
alert's (Alert Response Procedures, Database Connection Issues), each step with the acgs-ops commands that carry it
out; words in capitals (ID, NAME, TEXT, DURATION) are yours to fill in. Without options: every procedure.
The same list is served by the operator API: GET /procedures?severity=...&alert=...

Options:
      --severity S   P1, P2 or P3
      --alert A      ${ALERTS.join(', ')}
      --json         print JSON instead of text
`;

const OPTIONS = {
  severity: { type: 'string' },
  alert: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export const proceduresCommand: CliCommand = {
  name: 'procedures',
  summary: "the runbook's steps for a severity or an alert, with the commands that carry them out",
  usage: USAGE,
  async run(args, context) {
    const values = parseCommandArgs('procedures', args, OPTIONS);
    const filter = checkInput(
      proceduresQuery,
      { severity: values.severity, alert: values.alert },
      'options',
      (p) => `--${p}`,
    );
    const procedures = proceduresFor(filter);
    context.stdout(values.json ? formatJson({ procedures }) : formatProcedures(procedures));
    return 0;
  },
};
