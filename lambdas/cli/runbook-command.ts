import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AutomationDocument,
  formatAutomationParameterErrors,
  placeRunbook,
  resolveParameters,
} from '../core/automation-document.ts';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { UsageError } from '../core/errors.ts';
import { formatTable } from '../core/text-table.ts';
import {
  type ExecutionReport,
  listRunbooks,
  loadRunbook,
  operatorApiInvoker,
  runAutomation,
} from '../local/automation-runner.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops runbook list
  acgs-ops runbook show NAME
  acgs-ops runbook run NAME [--param KEY=VALUE]...

The SSM Automation runbooks of ssm-documents/automation/ (deployed by the stack as <stack>-NAME, started from the
SSM console), executed here step by step against the control plane on this host: each step calls the operator API
in-process as you ("local:<you> via runbook NAME <execution id>"), branches, sleeps and loops as Automation does.

"run" checks every parameter against the runbook before anything runs (exit 64 naming the parameter); it exits 0
when the execution succeeded and 1 when a step failed (its onFailure path still ran). A StringList parameter takes
comma-separated values (--param Services=auth,ac); Services defaults to the whole fleet in dependency order.

Options:
${LOCAL_OPTIONS_HELP}
  -p, --param K=V    a runbook parameter (repeatable)
      --by NAME      who acts (default: your login name)
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  param: { type: 'string', short: 'p', multiple: true },
  by: { type: 'string' },
} as const;

export const runbookCommand: CliCommand = {
  name: 'runbook',
  summary: 'list, show or run the SSM Automation runbooks on this host',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('runbook', args, OPTIONS);
    const [action, name, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (see acgs-ops runbook --help)`);
    if (action !== 'run' && values.param !== undefined) throw new UsageError('--param is for acgs-ops runbook run');
    switch (action) {
      case 'list': {
        if (name !== undefined) throw new UsageError(`unexpected argument "${name}" (see acgs-ops runbook --help)`);
        const rows = listRunbooks().map((n) => ({ name: n, summary: summaryOf(loadRunbook(n)) }));
        context.stdout(
          values.json
            ? formatJson({ runbooks: rows })
            : formatTable(
                ['NAME', 'WHAT'],
                rows.map((r) => [r.name, r.summary]),
              ),
        );
        return 0;
      }
      case 'show': {
        const doc = loadRunbook(needName(name));
        context.stdout(values.json ? formatJson(doc) : showText(needName(name), doc));
        return 0;
      }
      case 'run':
        return runRunbook(needName(name), values, context);
      case undefined:
        throw new UsageError('acgs-ops runbook needs an action: list, show or run');
      default:
        throw new UsageError(`unknown action "${action}" (actions: list, show, run)`);
    }
  },
};

async function runRunbook(
  name: string,
  values: {
    config?: string | undefined;
    state?: string | undefined;
    json?: boolean | undefined;
    param?: string[] | undefined;
    by?: string | undefined;
  },
  context: Parameters<CliCommand['run']>[1],
): Promise<number> {
  const file = loadRunbook(name);
  const given = parseParams(values.param ?? []);
  const operator = operatorName(values.by);
  let document: AutomationDocument = file;
  // Checked against the fleet before the state is opened: bad input creates and runs nothing.
  const { runtime } = await openRuntimeFor(values, context, {
    access: 'write',
    check: (config) => {
      document = placeRunbook(file, { services: config.services.map((s) => s.name) });
      const resolved = resolveParameters(document, given);
      if (!resolved.ok) throw new UsageError(`runbook ${name}: ${formatAutomationParameterErrors(resolved.errors)}`);
      const unknown = unknownServices(resolved.values, new Set(config.services.map((s) => s.name)));
      if (unknown.length > 0) throw new UsageError(`runbook ${name}: ${formatAutomationParameterErrors(unknown)}`);
    },
  });
  try {
    const resolved = resolveParameters(document, given);
    if (!resolved.ok) throw new UsageError(formatAutomationParameterErrors(resolved.errors));
    const executionId = randomUUID();
    const report = await runAutomation({
      document,
      documentName: name,
      parameters: resolved.values,
      executionId,
      invoke: operatorApiInvoker(runtime.ctx, { operator, documentName: name, executionId }),
      clock: context.clock,
      sleep: (ms) => sleep(ms),
    });
    context.stdout(values.json ? formatJson(report) : reportText(report));
    return report.status === 'Success' ? 0 : 1;
  } finally {
    runtime.close();
  }
}

/** The parameters that name services (ServiceName, Services, Subject), each checked against the fleet. */
function unknownServices(
  values: Readonly<Record<string, unknown>>,
  fleet: ReadonlySet<string>,
): { parameter: string; message: string }[] {
  const special: Record<string, string> = { ServiceName: 'none', Subject: '*' };
  const errors: { parameter: string; message: string }[] = [];
  for (const parameter of ['ServiceName', 'Services', 'Subject']) {
    const value = values[parameter];
    if (value === undefined) continue;
    for (const name of Array.isArray(value) ? value : [value])
      if (!fleet.has(String(name)) && special[parameter] !== name)
        errors.push({
          parameter,
          message: `"${String(name)}" is not a service of this fleet (${[...fleet].join(', ')})`,
        });
  }
  return errors;
}

/** `--param K=V` pairs; a key given twice is refused (it would silently drop a value). */
function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${escapeControlCharacters(pair)} must be KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(params, key)) throw new UsageError(`--param ${key} is given twice`);
    params[key] = pair.slice(eq + 1);
  }
  return params;
}

function needName(name: string | undefined): string {
  if (!name) throw new UsageError('name the runbook (see acgs-ops runbook list)');
  return name;
}

/** The first heading of the Markdown description. */
function summaryOf(doc: AutomationDocument): string {
  const first = doc.description.split('\n').find((l) => l.trim() !== '') ?? '';
  return first.replace(/^#+\s*/, '');
}

function showText(name: string, doc: AutomationDocument): string {
  const params = Object.entries(doc.parameters).map(([key, p]) => [
    key,
    p.type,
    p.default === undefined ? '(required)' : JSON.stringify(p.default),
    p.allowedValues ? p.allowedValues.join('|') : (p.allowedPattern ?? (p.type === 'Boolean' ? 'true|false' : '')),
  ]);
  const steps = doc.mainSteps.flatMap((s) => [
    [s.name, s.action, s.onFailure ?? 'Abort'],
    ...(s.action === 'aws:loop'
      ? s.inputs.Steps.map((c) => [`  ${s.name}.${c.name}`, c.action, c.onFailure ?? 'Abort'])
      : []),
  ]);
  return [
    `${name}`,
    '',
    doc.description,
    '',
    formatTable(['PARAMETER', 'TYPE', 'DEFAULT', 'ALLOWED'], params).trimEnd(),
    '',
    formatTable(['STEP', 'ACTION', 'ON FAILURE'], steps).trimEnd(),
    '',
    `Outputs: ${(doc.outputs ?? []).join(', ') || 'none'}`,
    '',
  ].join('\n');
}

function reportText(report: ExecutionReport): string {
  const rows = report.steps.map((s) => [
    s.iteration === undefined ? s.name : `${s.name} [${String(s.iteratorValue ?? s.iteration)}]`,
    s.status,
    `${s.durationMs}ms`,
    escapeControlCharacters(s.failure ?? summarizeOutputs(s.outputs)),
  ]);
  const outputs = Object.entries(report.outputs).map(
    ([k, v]) => `  ${k} = ${escapeControlCharacters(typeof v === 'string' ? v : JSON.stringify(v))}`,
  );
  return [
    `runbook ${report.documentName} execution ${report.executionId}: ${report.status} in ${report.durationMs}ms`,
    formatTable(['STEP', 'STATUS', 'TIME', 'DETAIL'], rows).trimEnd(),
    ...(outputs.length > 0 ? ['Outputs:', ...outputs] : []),
    ...(report.failure ? [`Failed: ${escapeControlCharacters(report.failure)}`] : []),
    '',
  ].join('\n');
}

function summarizeOutputs(outputs: Readonly<Record<string, unknown>>): string {
  const shown = Object.entries(outputs).filter(([k]) => k !== 'Payload' && k !== 'StatusCode');
  const text = shown.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
