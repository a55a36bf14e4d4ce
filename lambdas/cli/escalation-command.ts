import { escapeControlCharacters } from '../core/control-characters.ts';
import { formatDuration, SECOND_MS } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { DEFAULT_ESCALATION_TEST_WAIT_MS, ESCALATION_TEST_WAIT, testRouting } from '../core/escalation-test.ts';
import { checkInput } from '../core/operator-input.ts';
import { escalationTestBody, type startedView } from '../use-cases/api/escalation-routes.ts';
import type { incidentView } from '../use-cases/api/incident-routes.ts';
import type { ApiResponse } from '../use-cases/operator-api.ts';
import { API_TARGET_HELP, API_TARGET_OPTIONS, answerError, apiTarget, callApi, type LocalCall } from './api-target.ts';
import { durationOption, parseCommandLine } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops escalation test [--channel NAME] [--level N] [--wait DURATION]

Proves the paging path end to end: opens a synthetic P3 incident (kind "test"; nothing is wrong) and pages it once at
one escalation level (1 unless --level) through every page channel carrying that level, or through --channel NAME
only (at the lowest level it carries unless --level), whatever maintenance windows say. Then it waits for someone to
acknowledge it ("acgs-ops incident ack ID", printed) and resolves it: acknowledged in time, the test passes and says
who acknowledged and how long it took; not acknowledged, it fails naming the channels paged. The test incident never
escalates, never restarts anything and never folds into a real incident. If this command is stopped, the sweep
resolves the test at its deadline. Through the operator API, on this host (--target local) or in AWS (--target aws).

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --channel NAME   page only this channel (one of notifications.channels with pages)
      --level N        the escalation level paged (default 1)
      --wait DURATION  how long to wait for the acknowledgement (default 10m; 10s to 1d)
      --by NAME        who starts it, --target local only (default: your login name)

Exit status: 0 passed, 1 failed (not acknowledged in time, or the page not delivered), 64 bad input, 70 failure.
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  channel: { type: 'string' },
  level: { type: 'string' },
  wait: { type: 'string' },
  by: { type: 'string' },
} as const;

/** How often the waiting command looks at the test incident. */
export const POLL_MS = 5 * SECOND_MS;

type Started = ReturnType<typeof startedView>;
type View = ReturnType<typeof incidentView>;
interface Closed {
  readonly passed: boolean;
  readonly resolution: string;
  readonly incident: View;
}

const FLAG: Record<string, string> = { channel: '--channel', level: '--level', waitSeconds: '--wait' };
const asFlag = (message: string) =>
  message.replace(/^(channel|level|waitSeconds):/, (_, field: string) => `${FLAG[field] ?? field}:`);

export interface EscalationCommandOptions {
  /** How the command waits between looks at the incident (tests move a manual clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `acgs-ops escalation`, with its wait injectable. */
export function escalationCommandWith(options: EscalationCommandOptions = {}): CliCommand {
  const sleep = options.sleep ?? realSleep;
  return {
    name: 'escalation',
    summary: 'test the paging path: page a synthetic incident and wait for its acknowledgement',
    usage: USAGE,
    async run(args, context) {
      const { values, positionals } = parseCommandLine('escalation', args, OPTIONS);
      const [action, ...extra] = positionals;
      if (action !== 'test') throw new UsageError('acgs-ops escalation needs an action: test');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (see acgs-ops escalation --help)`);
      // Checked before the state is opened or anything is sent: bad input creates nothing.
      const level = values.level === undefined ? undefined : levelOption(values.level);
      const waitMs =
        values.wait === undefined
          ? DEFAULT_ESCALATION_TEST_WAIT_MS
          : durationOption('--wait', values.wait, ESCALATION_TEST_WAIT);
      const body = checkInput(
        escalationTestBody,
        {
          ...(values.channel === undefined ? {} : { channel: values.channel }),
          ...(level === undefined ? {} : { level }),
          waitSeconds: Math.ceil(waitMs / SECOND_MS),
        },
        'body',
        (path) => FLAG[path] ?? path,
      );
      const target = apiTarget(values);
      const local = (access: LocalCall['access']): LocalCall => ({
        values,
        context,
        access,
        check: (config) => {
          try {
            testRouting(config, { channel: body.channel, level: body.level });
          } catch (error) {
            if (error instanceof UsageError) throw new UsageError(asFlag(error.message), { cause: error });
            throw error;
          }
        },
      });

      const start = await callApi(
        target,
        { method: 'POST', path: '/escalation/test', query: {}, body: JSON.stringify(body) },
        local('write'),
      );
      if (start.statusCode === 400) throw new UsageError(asFlag(answerError(start)));
      if (start.statusCode !== 201 && start.statusCode !== 502)
        throw new ControlPlaneError('API_ERROR', answerError(start));
      const started = start.body as Started;
      const through = `level ${started.level} (${started.levelName}) through ${started.channels.join(', ')}`;
      if (start.statusCode === 502) {
        if (values.json) context.stdout(formatJson({ started, passed: false }));
        else
          context.stdout(
            text(`escalation test ${started.id} failed: ${started.error ?? 'page not delivered'} (${through})\n`),
          );
        return 1;
      }
      if (!values.json)
        context.stdout(
          text(
            `escalation test ${started.id}: paged ${through}\n` +
              `waiting up to ${formatDuration(waitMs)} for: acgs-ops incident ack ${started.id}\n`,
          ),
        );

      const closed = await awaitVerdict(target, started, context, local, sleep);
      const incident = closed.incident;
      if (values.json) context.stdout(formatJson({ started, ...closed }));
      else if (closed.passed)
        context.stdout(
          text(
            `passed: acknowledged by ${incident.acknowledgedBy ?? '?'} after ${formatDuration(incident.mttaMs ?? 0)}; ` +
              `${started.id} resolved\n`,
          ),
        );
      else context.stdout(text(`failed: ${closed.resolution} (paged ${through}); ${started.id} resolved\n`));
      return closed.passed ? 0 : 1;
    },
  };
}

export const escalationCommand: CliCommand = escalationCommandWith();

/**
 * Looks at the test incident until it is acknowledged, resolved or past its deadline, then closes it through the
 * operator API (which decides: passed when acknowledged, failed past the deadline).
 */
async function awaitVerdict(
  target: ReturnType<typeof apiTarget>,
  started: Started,
  context: CliContext,
  local: (access: LocalCall['access']) => LocalCall,
  sleep: (ms: number) => Promise<void>,
): Promise<Closed> {
  const deadline = Date.parse(started.deadline);
  const id = encodeURIComponent(started.id);
  for (;;) {
    const shown = await callApi(
      target,
      { method: 'GET', path: `/incidents/${id}`, query: {}, body: undefined },
      local('read'),
    );
    if (shown.statusCode !== 200) throw new ControlPlaneError('API_ERROR', answerError(shown));
    const view = shown.body as View;
    const now = context.clock.now();
    if (view.status !== 'open' || view.acknowledgedBy !== null || now >= deadline) {
      const closed: ApiResponse = await callApi(
        target,
        { method: 'POST', path: `/escalation/test/${id}/close`, query: {}, body: '{}' },
        local('write'),
      );
      if (closed.statusCode === 200) return closed.body as Closed;
      // 409: still waiting (another clock's deadline not reached yet): look again.
      if (closed.statusCode !== 409) throw new ControlPlaneError('API_ERROR', answerError(closed));
    }
    await sleep(Math.max(SECOND_MS, Math.min(POLL_MS, deadline - now)));
  }
}

function levelOption(text: string): number {
  if (!/^[1-9]$/.test(text)) throw new UsageError(`--level: must be an escalation level 1 to 9, got "${text}"`);
  return Number(text);
}

function text(line: string): string {
  return line
    .split('\n')
    .map((l) => escapeControlCharacters(l))
    .join('\n');
}
