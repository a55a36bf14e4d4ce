import { escapeControlCharacters } from '../core/control-characters.ts';
import { SECOND_MS } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { MAX_HEALTH_WAIT_SECONDS } from '../use-cases/api/health-routes.ts';
import { checkServiceNames } from '../use-cases/service-procedures.ts';
import {
  API_TARGET_HELP,
  API_TARGET_OPTIONS,
  answerError,
  apiTarget,
  callApi,
  PROCEDURE_TIMEOUT_MS,
} from './api-target.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliContext } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP } from './local-options.ts';
import { formatJson } from './output.ts';

/** `acgs-ops health wait`: the usage lines `acgs-ops health --help` shows. */
export const HEALTH_WAIT_USAGE = `
Usage: acgs-ops health wait NAME... --timeout DURATION [--since TIME] [--target local|aws]

Waits, through the operator API, until every health check of the services named is healthy (at or after --since,
an ISO-8601 time, e.g. when a restart began), or until --timeout (1s to ${MAX_HEALTH_WAIT_SECONDS}s) has passed. On
this host the checks are probed here; in AWS the operator API reads what the scheduled probe recorded.

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --timeout DURATION  how long to wait (e.g. 90s, 5m; at most ${MAX_HEALTH_WAIT_SECONDS}s)
      --since TIME        count only health known at or after this time
      --by NAME           who waits, --target local only (recorded on the audit trail)

Exit status: 0 healthy, 1 not healthy at the timeout (each service named with its state and why), 64 usage.
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  timeout: { type: 'string' },
  since: { type: 'string' },
  by: { type: 'string' },
} as const;

interface Unhealthy {
  readonly service: string;
  readonly state: string;
  readonly reason: string;
}

export async function runHealthWait(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals: services } = parseCommandLine('health wait', args, OPTIONS);
  if (services.length === 0) throw new UsageError('acgs-ops health wait needs at least one service name');
  if (values.timeout === undefined) throw new UsageError('acgs-ops health wait needs --timeout DURATION (e.g. 5m)');
  const timeoutMs = durationOption('--timeout', values.timeout, {
    min: SECOND_MS,
    max: MAX_HEALTH_WAIT_SECONDS * SECOND_MS,
  });
  const target = apiTarget(values);
  const response = await callApi(
    target,
    {
      method: 'POST',
      path: '/health/wait',
      query: {},
      body: JSON.stringify({
        services,
        timeoutSeconds: Math.ceil(timeoutMs / SECOND_MS),
        ...(values.since === undefined ? {} : { since: values.since }),
      }),
    },
    {
      values,
      context,
      access: 'write',
      check: (config) => checkServiceNames(config, services),
      timeoutMs: PROCEDURE_TIMEOUT_MS,
    },
  );
  if (response.statusCode === 400)
    throw new UsageError(
      answerError(response).replace(/^(since|timeoutSeconds):/, (_, f) => (f === 'since' ? '--since:' : '--timeout:')),
    );
  if (response.statusCode !== 200 && response.statusCode !== 503)
    throw new ControlPlaneError('API_ERROR', answerError(response));
  if (values.json) context.stdout(formatJson(response.body));
  if (response.statusCode === 200) {
    if (!values.json) context.stdout(`healthy: ${services.join(', ')}\n`);
    return 0;
  }
  if (!values.json)
    for (const u of (response.body as { unhealthy: Unhealthy[] }).unhealthy)
      context.stdout(escapeControlCharacters(`not healthy: ${u.service} ${u.state} (${u.reason})`) + '\n');
  return 1;
}
