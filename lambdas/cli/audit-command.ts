import { AUDIT_MAX_LIMIT } from '../core/audit.ts';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { formatTable } from '../core/text-table.ts';
import type { auditView } from '../use-cases/api/audit-routes.ts';
import { API_TARGET_HELP, API_TARGET_OPTIONS, answerError, apiTarget, callApi } from './api-target.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage: acgs-ops audit [--limit N] [--since TIME] [--json]

The audit trail of the operator API, newest first: every request that changes something (procedures, maintenance
windows, incident actions), who made it, when, and how it ended (refusals included). On this host (--target local)
or in AWS (--target aws).

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --limit N      at most N entries (1 to ${AUDIT_MAX_LIMIT}; default 100)
      --since TIME   entries at or after this ISO-8601 time (e.g. 2026-12-01T02:00:00Z)
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  limit: { type: 'string' },
  since: { type: 'string' },
} as const;

type Entry = ReturnType<typeof auditView>;

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'show the audit trail of the operator API (who did what, when, and how it ended)',
  usage: USAGE,
  async run(args, context) {
    const values = parseCommandArgs('audit', args, OPTIONS);
    const target = apiTarget(values);
    const query = {
      ...(values.limit === undefined ? {} : { limit: values.limit }),
      ...(values.since === undefined ? {} : { since: values.since }),
    };
    const response = await callApi(
      target,
      { method: 'GET', path: '/audit', query, body: undefined },
      { values, context, access: 'read' },
    );
    if (response.statusCode === 400) {
      // The API names its query fields; the operator typed flags.
      throw new UsageError(answerError(response).replace(/^(limit|since):/, '--$1:'));
    }
    if (response.statusCode !== 200) throw new ControlPlaneError('API_ERROR', answerError(response));
    const { entries } = response.body as { entries: Entry[] };
    if (values.json) {
      context.stdout(formatJson(entries));
      return 0;
    }
    if (entries.length === 0) {
      context.stdout('no audit entries\n');
      return 0;
    }
    context.stdout(
      formatTable(
        ['AT', 'CALLER', 'ACTION', 'SUBJECTS', 'STATUS', 'OUTCOME', 'DETAIL'],
        entries.map((e) =>
          [e.at, e.caller, e.action, e.subjects.join(',') || '-', String(e.statusCode), e.outcome, e.detail].map(
            escapeControlCharacters,
          ),
        ),
      ),
    );
    return 0;
  },
};
