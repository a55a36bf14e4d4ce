import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AutomationDocument,
  type AutomationStep,
  type BranchStep,
  choiceHolds,
  type InvokeStep,
  type LoopStep,
  MAX_LOOP_ITERATIONS,
  MAX_SCRIPT_SECONDS,
  type ParameterValue,
  parseAutomationDocument,
  parseIsoDuration,
  type ScriptStep,
  type SleepStep,
  substitute,
  wholePlaceholder,
} from '../core/automation-document.ts';
import { OPERATOR_FUNCTION_PLACEHOLDER, parseAutomationInvocation } from '../core/automation-invocation.ts';
import { ControlPlaneError, errorMessage, UsageError } from '../core/errors.ts';
import { formatYamlProblems } from '../core/yaml-schema.ts';
import type { Clock } from '../ports.ts';
import type { ControlPlaneContext } from '../use-cases/context.ts';
import { handleApiRequest } from '../use-cases/operator-api.ts';
import { type RunScript, runPythonScript } from './python-script-runner.ts';

/**
 * The local interpreter of Automation runbooks: executes a runbook's steps as SSM Automation would, for the actions
 * the runbooks use. `aws:invokeLambdaFunction` goes to `invoke` (in-process: the operator API, see
 * `operatorApiInvoker`); a thrown error is the function's error and fails the step, as in AWS. `aws:branch`,
 * `aws:sleep` (through the injected `sleep` and clock), `aws:loop` and `aws:executeScript` (Python, through
 * `runScript`: by default this host's python3, see python-script-runner.ts) follow Automation's semantics, and so do
 * `onFailure` (Abort | Continue | step:NAME), `nextStep`, `isEnd`, `maxAttempts` and `isCritical`: an execution
 * whose critical step failed is Failed even when its onFailure path ran to the end.
 */

/** Invokes a Lambda function with a payload; resolves to its response, throws its error. */
export type InvokeFunction = (functionName: string, payload: unknown) => Promise<unknown>;

export interface AutomationRunOptions {
  readonly document: AutomationDocument;
  readonly documentName: string;
  /** Resolved parameter values (`resolveParameters`). */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly invoke: InvokeFunction;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** Runs an `aws:executeScript` step's script. Default: `runPythonScript`. */
  readonly runScript?: RunScript;
  /** Default: a new UUID, as SSM gives every execution. */
  readonly executionId?: string;
}

export type StepStatus = 'Success' | 'Failed';

export interface StepReport {
  /** The step's name; a step inside a loop is `<loop>.<step>`. */
  readonly name: string;
  readonly action: string;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly attempts: number;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The loop iteration (1-based) and its value, for a step inside a loop. */
  readonly iteration?: number;
  readonly iteratorValue?: unknown;
  readonly failure?: string;
}

export interface ExecutionReport {
  readonly documentName: string;
  readonly executionId: string;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly steps: readonly StepReport[];
  /** The document's `outputs`, those that have a value. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The first critical failure: which step, and why. */
  readonly failure?: string;
}

/** Where control goes after a step. */
type Next = { kind: 'next' } | { kind: 'goto'; step: string } | { kind: 'end' };

class StepFailure extends Error {}

export async function runAutomation(options: AutomationRunOptions): Promise<ExecutionReport> {
  const { document, clock } = options;
  const executionId = options.executionId ?? randomUUID();
  const started = clock.now();
  const vars = new Map<string, unknown>(Object.entries(options.parameters));
  vars.set('automation:EXECUTION_ID', executionId);
  const reports: StepReport[] = [];
  let failure: string | undefined;

  const lookup = (name: string): ParameterValue | undefined => {
    if (name.startsWith('global:')) return globalVariable(name, clock.now());
    return vars.get(name) as ParameterValue | undefined;
  };

  /** Runs one leaf step (with its attempts) and records it; returns whether it succeeded and where to go. */
  const runLeaf = async (
    step: Exclude<AutomationStep, LoopStep>,
    context: { prefix: string; iteration?: number; iteratorValue?: unknown },
  ): Promise<{ ok: boolean; next: Next }> => {
    const attempts = step.maxAttempts ?? 1;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const at = clock.now();
      try {
        const { outputs, next } = await executeLeaf(step, lookup, options);
        const durationMs = clock.now() - at;
        if (step.timeoutSeconds !== undefined && durationMs > step.timeoutSeconds * 1000)
          throw new StepFailure(
            `ran ${Math.round(durationMs / 1000)}s, past its timeoutSeconds ${step.timeoutSeconds}`,
          );
        for (const [key, value] of Object.entries(outputs)) vars.set(`${step.name}.${key}`, value);
        reports.push(report(step, context, 'Success', at, clock.now(), attempt, outputs));
        return { ok: true, next: step.isEnd ? { kind: 'end' } : next };
      } catch (error) {
        lastError = errorMessage(error);
        if (attempt === attempts) {
          const outputs = step.action === 'aws:invokeLambdaFunction' ? { FunctionError: 'Unhandled' } : {};
          reports.push({ ...report(step, context, 'Failed', at, clock.now(), attempt, outputs), failure: lastError });
        }
      }
    }
    if (step.isCritical !== false && failure === undefined) failure = `${context.prefix}${step.name}: ${lastError}`;
    return { ok: false, next: afterFailure(step) };
  };

  const runLoop = async (step: LoopStep): Promise<{ ok: boolean; next: Next }> => {
    const at = clock.now();
    const inner = step.inputs.Steps;
    const max = step.inputs.MaxIterations ?? MAX_LOOP_ITERATIONS;
    const iterators = step.inputs.Iterators === undefined ? undefined : iteratorValues(step.inputs.Iterators, lookup);
    const count = iterators === undefined ? max : Math.min(iterators.length, max);
    let ok = true;
    let exit: Next | undefined;
    for (let i = 0; i < count && exit === undefined; i++) {
      const iteratorValue = iterators?.[i];
      vars.set(`${step.name}.CurrentIteration`, i + 1);
      if (iterators !== undefined) vars.set(`${step.name}.CurrentIteratorValue`, iteratorValue);
      let index = 0;
      while (index < inner.length) {
        const child = inner[index] as Exclude<AutomationStep, LoopStep>;
        const result = await runLeaf(child, {
          prefix: `${step.name}.`,
          iteration: i + 1,
          ...(iterators === undefined ? {} : { iteratorValue }),
        });
        if (!result.ok) ok = false;
        if (result.next.kind === 'end') {
          exit = result.next;
          break;
        }
        if (result.next.kind === 'goto') {
          const target = result.next.step;
          const sibling = inner.findIndex((s) => s.name === target);
          if (sibling === -1) {
            // A jump out of the loop ends it: control goes to that step of the runbook.
            exit = result.next;
            break;
          }
          index = sibling;
          continue;
        }
        index++;
      }
      const condition = step.inputs.LoopCondition;
      if (exit === undefined && condition !== undefined) {
        const name = wholePlaceholder(condition.Variable) ?? '';
        const value = lookup(name);
        if (value === undefined || !choiceHolds(condition, value)) break;
      }
    }
    const outputs = {
      CurrentIteration: vars.get(`${step.name}.CurrentIteration`),
      ...(iterators === undefined ? {} : { CurrentIteratorValue: vars.get(`${step.name}.CurrentIteratorValue`) }),
    };
    reports.push({
      ...report(step, { prefix: '' }, ok ? 'Success' : 'Failed', at, clock.now(), 1, outputs),
      ...(ok ? {} : { failure: 'a step inside the loop failed' }),
    });
    if (exit !== undefined) return { ok, next: exit };
    if (!ok) return { ok, next: { kind: 'end' } };
    return {
      ok,
      next: step.isEnd ? { kind: 'end' } : step.nextStep ? { kind: 'goto', step: step.nextStep } : { kind: 'next' },
    };
  };

  let index = 0;
  const steps = document.mainSteps;
  while (index < steps.length) {
    const step = steps[index] as AutomationStep;
    let next: Next;
    try {
      next = step.action === 'aws:loop' ? (await runLoop(step)).next : (await runLeaf(step, { prefix: '' })).next;
    } catch (error) {
      // A runbook the checks passed cannot get here; say which step if it does.
      failure ??= `${step.name}: ${errorMessage(error)}`;
      break;
    }
    if (next.kind === 'end') break;
    if (next.kind === 'goto') {
      const target = next.step;
      const found = steps.findIndex((s) => s.name === target);
      if (found === -1) {
        failure ??= `${step.name}: step ${target} does not exist`;
        break;
      }
      index = found;
    } else index++;
  }

  const outputs: Record<string, unknown> = {};
  for (const ref of document.outputs ?? []) if (vars.has(ref)) outputs[ref] = vars.get(ref);
  return {
    documentName: options.documentName,
    executionId,
    status: failure === undefined ? 'Success' : 'Failed',
    startedAt: new Date(started).toISOString(),
    durationMs: clock.now() - started,
    steps: reports,
    outputs,
    ...(failure === undefined ? {} : { failure }),
  };
}

/** Where a failed step sends control: its onFailure (default Abort). */
function afterFailure(step: AutomationStep): Next {
  const onFailure = step.onFailure ?? 'Abort';
  if (onFailure === 'Abort') return { kind: 'end' };
  if (onFailure === 'Continue') return step.isEnd ? { kind: 'end' } : { kind: 'next' };
  return { kind: 'goto', step: onFailure.slice('step:'.length) };
}

async function executeLeaf(
  step: Exclude<AutomationStep, LoopStep>,
  lookup: (name: string) => ParameterValue | undefined,
  options: AutomationRunOptions,
): Promise<{ outputs: Record<string, unknown>; next: Next }> {
  switch (step.action) {
    case 'aws:invokeLambdaFunction':
      return { outputs: await invokeStep(step, lookup, options.invoke), next: nextOf(step) };
    case 'aws:branch':
      return { outputs: {}, next: branch(step, lookup) };
    case 'aws:sleep':
      await sleepStep(step, lookup, options);
      return { outputs: {}, next: nextOf(step) };
    case 'aws:executeScript':
      return { outputs: await scriptStep(step, lookup, options.runScript ?? runPythonScript), next: nextOf(step) };
  }
}

function nextOf(step: AutomationStep): Next {
  return step.nextStep !== undefined ? { kind: 'goto', step: step.nextStep } : { kind: 'next' };
}

async function invokeStep(
  step: InvokeStep,
  lookup: (name: string) => ParameterValue | undefined,
  invoke: InvokeFunction,
): Promise<Record<string, unknown>> {
  const text = step.inputs.Payload === undefined ? '{}' : String(substitute(step.inputs.Payload, lookup));
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new StepFailure(`the Payload is not JSON once filled in: ${text.slice(0, 200)}`);
  }
  const functionName = String(substitute(step.inputs.FunctionName, lookup));
  const response = await invoke(functionName, payload);
  return declaredOutputs(step, response, { Payload: JSON.stringify(response), StatusCode: 200 });
}

/** An `aws:executeScript` step: the handler's return value is the Payload its outputs select from (`$.Payload.x`). */
async function scriptStep(
  step: ScriptStep,
  lookup: (name: string) => ParameterValue | undefined,
  runScript: RunScript,
): Promise<Record<string, unknown>> {
  const events = substitute(step.inputs.InputPayload ?? {}, lookup) as Record<string, unknown>;
  const seconds = Math.min(step.timeoutSeconds ?? MAX_SCRIPT_SECONDS, MAX_SCRIPT_SECONDS);
  const payload = await runScript({
    script: step.inputs.Script,
    handler: step.inputs.Handler,
    events,
    timeoutMs: seconds * 1000,
  });
  return declaredOutputs(step, { Payload: payload }, { Payload: payload });
}

/** The action's own outputs, and each output the step declares selected from `response`. */
function declaredOutputs(
  step: InvokeStep | ScriptStep,
  response: unknown,
  own: Record<string, unknown>,
): Record<string, unknown> {
  const outputs = { ...own };
  for (const output of step.outputs ?? []) {
    const value = select(response, output.Selector);
    if (value !== undefined) outputs[output.Name] = convert(value, output.Type);
  }
  return outputs;
}

function branch(step: BranchStep, lookup: (name: string) => ParameterValue | undefined): Next {
  for (const choice of step.inputs.Choices) {
    const value = lookup(wholePlaceholder(choice.Variable) ?? '');
    if (value !== undefined && choiceHolds(choice, value)) return { kind: 'goto', step: choice.NextStep };
  }
  if (step.inputs.Default !== undefined) return { kind: 'goto', step: step.inputs.Default };
  return nextOf(step);
}

async function sleepStep(
  step: SleepStep,
  lookup: (name: string) => ParameterValue | undefined,
  options: AutomationRunOptions,
): Promise<void> {
  const { Duration, Timestamp } = step.inputs;
  if (Duration !== undefined) {
    const seconds = parseIsoDuration(String(substitute(Duration, lookup)));
    if (seconds === undefined) throw new StepFailure(`Duration ${Duration} is not an ISO 8601 duration`);
    await options.sleep(seconds * 1000);
  } else if (Timestamp !== undefined) {
    const until = Date.parse(String(substitute(Timestamp, lookup)));
    if (Number.isNaN(until)) throw new StepFailure(`Timestamp ${Timestamp} is not an ISO 8601 timestamp`);
    await options.sleep(Math.max(0, until - options.clock.now()));
  }
}

function iteratorValues(iterators: string | readonly string[], lookup: (name: string) => ParameterValue | undefined) {
  const value = typeof iterators === 'string' ? lookup(wholePlaceholder(iterators) ?? '') : iterators;
  if (!Array.isArray(value)) throw new StepFailure('Iterators is not a list');
  return value as readonly unknown[];
}

/** `$.a.b[0]` applied to `value`; undefined when a part is missing. */
export function select(value: unknown, selector: string): unknown {
  let current: unknown = value;
  for (const part of selector.slice(1).match(/\.[A-Za-z0-9_]+|\[[0-9]+\]/g) ?? []) {
    if (current === null || typeof current !== 'object') return undefined;
    current = part.startsWith('[')
      ? (current as unknown[])[Number(part.slice(1, -1))]
      : (current as Record<string, unknown>)[part.slice(1)];
  }
  return current;
}

function convert(value: unknown, type: string): unknown {
  if (type === 'String') return typeof value === 'string' ? value : JSON.stringify(value);
  return value;
}

function globalVariable(name: string, now: number): string | undefined {
  const iso = new Date(now).toISOString();
  switch (name) {
    case 'global:ACCOUNT_ID':
      return 'local';
    case 'global:REGION':
      return 'local';
    case 'global:AWS_PARTITION':
      return 'aws';
    case 'global:DATE':
      return iso.slice(0, 10);
    case 'global:DATE_TIME':
      return `${iso.slice(0, 10)}_${iso.slice(11, 19).replaceAll(':', '.')}`;
    default:
      return undefined;
  }
}

function report(
  step: AutomationStep,
  context: { prefix: string; iteration?: number; iteratorValue?: unknown },
  status: StepStatus,
  startedAt: number,
  endedAt: number,
  attempts: number,
  outputs: Record<string, unknown>,
): StepReport {
  return {
    name: `${context.prefix}${step.name}`,
    action: step.action,
    status,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: endedAt - startedAt,
    attempts,
    outputs,
    ...(context.iteration === undefined ? {} : { iteration: context.iteration }),
    ...(context.iteratorValue === undefined ? {} : { iteratorValue: context.iteratorValue }),
  };
}

/** The error of a runbook step whose operator API call answered >= 400, as the Lambda throws it in AWS. */
export class OperatorApiStepError extends Error {
  readonly statusCode: number;
  readonly body: unknown;

  constructor(statusCode: number, body: unknown) {
    const detail =
      typeof body === 'object' && body !== null && 'error' in body
        ? String((body as { error: unknown }).error)
        : JSON.stringify(body).slice(0, 500);
    super(`the operator API answered ${statusCode}: ${detail}`);
    this.name = 'OperatorApiStepError';
    this.statusCode = statusCode;
    this.body = body;
  }
}

/**
 * The operator function, in-process: what `aws:invokeLambdaFunction` reaches locally. The payload is checked as the
 * Lambda checks it; the caller is the local operator, through this runbook and execution (never the payload); a
 * status >= 400 throws, so the step fails and its onFailure runs, as in AWS.
 */
export function operatorApiInvoker(
  ctx: ControlPlaneContext,
  who: { readonly operator: string; readonly documentName: string; readonly executionId: string },
): InvokeFunction {
  return async (functionName, payload) => {
    if (functionName !== OPERATOR_FUNCTION_PLACEHOLDER)
      throw new Error(
        `locally only the operator API (${OPERATOR_FUNCTION_PLACEHOLDER}) can be invoked, not ${functionName}`,
      );
    const invocation = parseAutomationInvocation(payload);
    if (invocation.automation.executionId !== who.executionId)
      throw new Error(`the payload names execution ${invocation.automation.executionId}, not this one`);
    const response = await handleApiRequest(ctx, {
      method: invocation.method,
      path: invocation.path,
      query: invocation.query ?? {},
      body: invocation.body === undefined ? undefined : JSON.stringify(invocation.body),
      caller: `local:${who.operator} via runbook ${who.documentName} ${who.executionId}`,
    });
    if (response.statusCode >= 400) throw new OperatorApiStepError(response.statusCode, response.body);
    return { statusCode: response.statusCode, body: response.body };
  };
}

/** The repository's `ssm-documents/automation/`: the runbook files the stack deploys. */
export const RUNBOOKS_DIR = fileURLToPath(new URL('../../ssm-documents/automation/', import.meta.url));

/** The runbooks' names (file names without `.yaml`), sorted. */
export function listRunbooks(dir: string = RUNBOOKS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/**
 * The runbook `name` parsed and checked.
 * @throws UsageError for a name that is not a runbook (listing them); ControlPlaneError `INVALID_RUNBOOK` for a file
 * that fails the checks (each problem with its line).
 */
export function loadRunbook(name: string, dir: string = RUNBOOKS_DIR): AutomationDocument {
  const names = listRunbooks(dir);
  if (!names.includes(name)) throw new UsageError(`"${name}" is not a runbook (runbooks: ${names.join(', ')})`);
  const file = join(dir, `${name}.yaml`);
  const parsed = parseAutomationDocument(readFileSync(file, 'utf8'));
  if (!parsed.ok) throw new ControlPlaneError('INVALID_RUNBOOK', formatYamlProblems('runbook', file, parsed.problems));
  return parsed.document;
}
