import * as z from 'zod';
import {
  ASSUME_ROLE_PLACEHOLDER,
  FLEET_SERVICES_PLACEHOLDER,
  OPERATOR_FUNCTION_PLACEHOLDER,
} from './automation-invocation.ts';
import { patternProblem, showValue } from './ssm-document.ts';
import { parseYamlWithSchema, type YamlProblem } from './yaml-schema.ts';

/**
 * SSM Automation runbooks (`ssm-documents/automation/*.yaml`, schemaVersion 0.3): the model, the structural check
 * against the Automation document schema for the actions these runbooks use, parameter validation and `{{ }}`
 * substitution. Pure: callers read the files. The same file is deployed by the stack (with its placeholders
 * replaced) and executed step by step by the local interpreter, so this module follows Automation's rules:
 *
 * - actions `aws:invokeLambdaFunction` (FunctionName required; Payload a JSON string; at most 300 s a step),
 *   `aws:branch` (Choices of Variable + one operator + NextStep, optional Default), `aws:sleep` (Duration ISO 8601 or
 *   Timestamp, at most 604799 s), `aws:loop` (Iterators or LoopCondition, Steps, MaxIterations <= 100) and
 *   `aws:executeScript` (a Python Runtime, Handler a function the Script defines, InputPayload; at most 600 s);
 * - step fields name, action, inputs, description, onFailure/onCancel (Abort | Continue | step:NAME), isEnd,
 *   nextStep, timeoutSeconds, maxAttempts, isCritical, outputs (Name, Selector, Type);
 * - `{{ X }}` refers to a parameter, `automation:EXECUTION_ID`, a `global:` variable, or `Step.Output` of a step
 *   before it (an enclosing loop's CurrentIteratorValue / CurrentIteration included).
 *
 * House rules on top (what makes these runbooks safe to hand to an operator): every parameter constrained by
 * allowedPattern or allowedValues (Boolean and Integer by their type), every parameter used, `assumeRole` is the
 * AutomationAssumeRole parameter, invocations are synchronous, and a value that reaches a JSON payload can never
 * hold `"` or `\` (so it cannot close the string it sits in); a Script holds no `{{ }}` (a value reaches it only as
 * data, through InputPayload, never as code).
 */

export const AUTOMATION_ACTIONS = [
  'aws:invokeLambdaFunction',
  'aws:branch',
  'aws:sleep',
  'aws:loop',
  'aws:executeScript',
] as const;
export type AutomationAction = (typeof AUTOMATION_ACTIONS)[number];

/** The most an `aws:invokeLambdaFunction` step may run (AWS documents a 300-second maximum). */
export const MAX_INVOKE_SECONDS = 300;
/** The most an `aws:executeScript` step may run (AWS documents a 600-second maximum). */
export const MAX_SCRIPT_SECONDS = 600;
/** The Python runtimes Automation runs scripts in (3.6 to 3.8 retired); the local interpreter runs Python only. */
export const SCRIPT_RUNTIMES = ['python3.9', 'python3.10', 'python3.11'] as const;
/** The longest `aws:sleep` Automation supports (7 days less one second). */
export const MAX_SLEEP_SECONDS = 604_799;
/** Automation's cap on loop iterations. */
export const MAX_LOOP_ITERATIONS = 100;
/** The parameter every runbook takes its role from. */
export const ASSUME_ROLE_PARAMETER = 'AutomationAssumeRole';

export const AUTOMATION_VARIABLES = ['automation:EXECUTION_ID'] as const;
export const GLOBAL_VARIABLES = [
  'global:ACCOUNT_ID',
  'global:DATE',
  'global:DATE_TIME',
  'global:AWS_PARTITION',
  'global:REGION',
] as const;

/** What each action gives later steps, besides the `outputs` a step declares. */
const ACTION_OUTPUTS: Readonly<Record<AutomationAction, readonly string[]>> = {
  'aws:invokeLambdaFunction': ['Payload', 'StatusCode', 'FunctionError', 'LogResult'],
  'aws:branch': [],
  'aws:sleep': [],
  'aws:loop': ['CurrentIteration', 'CurrentIteratorValue'],
  'aws:executeScript': ['Payload'],
};

const PARAMETER_NAME = /^[A-Za-z0-9]+$/;
const STEP_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Any `{{ ... }}` placeholder, whitespace inside the braces allowed. */
const PLACEHOLDER = /\{\{\s*([^{}\s]*)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}\s]*)\s*\}\}$/;

const PARAMETER_TYPES = ['String', 'StringList', 'Integer', 'Boolean'] as const;
const OUTPUT_TYPES = ['String', 'Integer', 'Boolean', 'StringList', 'StringMap', 'MapList'] as const;

const parameterSchema = z
  .strictObject({
    type: z.enum(PARAMETER_TYPES),
    description: z.string().min(1),
    default: z.union([z.string(), z.array(z.string()), z.int(), z.boolean()]).optional(),
    allowedPattern: z.string().min(1).optional(),
    allowedValues: z
      .array(z.union([z.string(), z.int()]))
      .min(1)
      .optional(),
    minChars: z.int().min(0).optional(),
    maxChars: z.int().min(1).optional(),
    minItems: z.int().min(0).optional(),
    maxItems: z.int().min(1).optional(),
    displayType: z.enum(['textarea', 'textfield']).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.type !== 'Boolean' && p.allowedPattern === undefined && p.allowedValues === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'needs allowedPattern or allowedValues: every value must be constrained',
      });
    if (p.allowedPattern !== undefined) {
      const problem = patternProblem(p.allowedPattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['allowedPattern'], message: problem });
    }
    if (p.default !== undefined)
      for (const message of valueProblems(p, p.default)) ctx.addIssue({ code: 'custom', path: ['default'], message });
  });

export type AutomationParameter = z.output<typeof parameterSchema>;

const onFailureSchema = z
  .string()
  .regex(/^(Abort|Continue|step:[A-Za-z0-9_-]{1,128})$/, 'must be Abort, Continue or step:<step name>');

const stepOutputSchema = z.strictObject({
  Name: z.string().regex(/^[A-Za-z0-9_]{1,128}$/, 'must be letters, digits or _'),
  Selector: z.string().regex(/^\$(\.[A-Za-z0-9_]+|\[[0-9]+\])*$/, 'must be a JSONPath like $.body.status'),
  Type: z.enum(OUTPUT_TYPES),
});

const common = {
  name: z.string().regex(STEP_NAME, 'must be 1-128 letters, digits, _ or -'),
  description: z.string().min(1).optional(),
  onFailure: onFailureSchema.optional(),
  onCancel: onFailureSchema.optional(),
  isEnd: z.boolean().optional(),
  nextStep: z.string().regex(STEP_NAME, 'must name a step').optional(),
  timeoutSeconds: z.int().min(1).optional(),
  maxAttempts: z.int().min(1).max(10).optional(),
  isCritical: z.boolean().optional(),
};

const STRING_OPERATORS = ['StringEquals', 'EqualsIgnoreCase', 'StartsWith', 'EndsWith', 'Contains'] as const;
const NUMERIC_OPERATORS = [
  'NumericEquals',
  'NumericGreater',
  'NumericLesser',
  'NumericGreaterOrEquals',
  'NumericLesserOrEquals',
] as const;
const OPERATORS = [...STRING_OPERATORS, ...NUMERIC_OPERATORS, 'BooleanEquals'] as const;
export type ChoiceOperator = (typeof OPERATORS)[number];

const VARIABLE = z.string().regex(WHOLE_PLACEHOLDER, 'must be one {{ variable }}');
const operatorShape = {
  ...Object.fromEntries(STRING_OPERATORS.map((op) => [op, z.string().optional()])),
  ...Object.fromEntries(NUMERIC_OPERATORS.map((op) => [op, z.number().optional()])),
  BooleanEquals: z.boolean().optional(),
} as Record<string, z.ZodOptional<z.ZodType>>;

const oneOperator = (c: Record<string, unknown>, ctx: z.RefinementCtx) => {
  const used = OPERATORS.filter((op) => c[op] !== undefined);
  if (used.length !== 1)
    ctx.addIssue({ code: 'custom', message: `needs exactly one operator (${OPERATORS.join(', ')})` });
};

const choiceSchema = z
  .strictObject({ ...operatorShape, Variable: VARIABLE, NextStep: z.string().regex(STEP_NAME, 'must name a step') })
  .superRefine(oneOperator);
const loopConditionSchema = z.strictObject({ ...operatorShape, Variable: VARIABLE }).superRefine(oneOperator);

export interface Choice {
  readonly Variable: string;
  readonly NextStep: string;
  readonly [operator: string]: unknown;
}

const invokeStep = z.strictObject({
  ...common,
  action: z.literal('aws:invokeLambdaFunction'),
  inputs: z.strictObject({
    FunctionName: z.string().min(1),
    Payload: z.string().min(1).optional(),
    InvocationType: z.enum(['RequestResponse', 'Event', 'DryRun']).optional(),
    LogType: z.enum(['None', 'Tail']).optional(),
    Qualifier: z.string().min(1).optional(),
  }),
  outputs: z.array(stepOutputSchema).optional(),
});

const branchStep = z.strictObject({
  ...common,
  action: z.literal('aws:branch'),
  inputs: z.strictObject({
    Choices: z.array(choiceSchema).min(1),
    Default: z.string().regex(STEP_NAME, 'must name a step').optional(),
  }),
});

const sleepStep = z.strictObject({
  ...common,
  action: z.literal('aws:sleep'),
  inputs: z
    .strictObject({ Duration: z.string().optional(), Timestamp: z.string().optional() })
    .superRefine((i, ctx) => {
      if ((i.Duration === undefined) === (i.Timestamp === undefined))
        ctx.addIssue({ code: 'custom', message: 'needs exactly one of Duration and Timestamp' });
      if (i.Duration !== undefined && !WHOLE_PLACEHOLDER.test(i.Duration)) {
        const seconds = parseIsoDuration(i.Duration);
        if (seconds === undefined)
          ctx.addIssue({ code: 'custom', path: ['Duration'], message: 'must be an ISO 8601 duration like PT30S' });
        else if (seconds > MAX_SLEEP_SECONDS)
          ctx.addIssue({ code: 'custom', path: ['Duration'], message: `must be at most ${MAX_SLEEP_SECONDS} seconds` });
      }
      if (i.Timestamp !== undefined && !WHOLE_PLACEHOLDER.test(i.Timestamp) && Number.isNaN(Date.parse(i.Timestamp)))
        ctx.addIssue({ code: 'custom', path: ['Timestamp'], message: 'must be an ISO 8601 timestamp' });
    }),
});

const scriptStep = z.strictObject({
  ...common,
  action: z.literal('aws:executeScript'),
  inputs: z.strictObject({
    Runtime: z.enum(SCRIPT_RUNTIMES),
    Handler: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be the name of a Python function'),
    Script: z.string().min(1),
    InputPayload: z.record(z.string(), z.unknown()).optional(),
  }),
  outputs: z.array(stepOutputSchema).optional(),
});

type LeafStep =
  | z.output<typeof invokeStep>
  | z.output<typeof branchStep>
  | z.output<typeof sleepStep>
  | z.output<typeof scriptStep>;
export type InvokeStep = z.output<typeof invokeStep>;
export type ScriptStep = z.output<typeof scriptStep>;
export type BranchStep = z.output<typeof branchStep>;
export type SleepStep = z.output<typeof sleepStep>;

const leafStep = z.discriminatedUnion('action', [invokeStep, branchStep, sleepStep, scriptStep], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `action must be one of ${AUTOMATION_ACTIONS.join(', ')}` : undefined,
});

const loopStep = z.strictObject({
  ...common,
  action: z.literal('aws:loop'),
  inputs: z
    .strictObject({
      Iterators: z
        .union([z.string().regex(WHOLE_PLACEHOLDER, 'must be one {{ variable }}'), z.array(z.string())])
        .optional(),
      IteratorDataType: z.enum(['String', 'Integer', 'Boolean', 'StringMap']).optional(),
      LoopCondition: loopConditionSchema.optional(),
      MaxIterations: z.int().min(1).max(MAX_LOOP_ITERATIONS).optional(),
      Steps: z.array(leafStep).min(1),
    })
    .superRefine((i, ctx) => {
      if ((i.Iterators === undefined) === (i.LoopCondition === undefined))
        ctx.addIssue({ code: 'custom', message: 'needs exactly one of Iterators and LoopCondition' });
    }),
});
export type LoopStep = z.output<typeof loopStep>;
export type AutomationStep = LeafStep | LoopStep;

const stepSchema = z.discriminatedUnion('action', [invokeStep, branchStep, sleepStep, scriptStep, loopStep], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `action must be one of ${AUTOMATION_ACTIONS.join(', ')}` : undefined,
});

const documentSchema = z
  .strictObject({
    schemaVersion: z.literal('0.3'),
    description: z.string().min(1),
    assumeRole: z.string(),
    parameters: z.record(z.string().regex(PARAMETER_NAME, 'parameter names are letters and digits'), parameterSchema),
    mainSteps: z.array(stepSchema).min(1),
    outputs: z.array(z.string()).optional(),
  })
  .superRefine((doc, ctx) => {
    for (const problem of structuralProblems(doc as AutomationDocument))
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

export interface AutomationDocument {
  readonly schemaVersion: '0.3';
  readonly description: string;
  readonly assumeRole: string;
  readonly parameters: Readonly<Record<string, AutomationParameter>>;
  readonly mainSteps: readonly AutomationStep[];
  readonly outputs?: readonly string[] | undefined;
}

export type AutomationParseResult =
  | { readonly ok: true; readonly document: AutomationDocument }
  | { readonly ok: false; readonly problems: readonly YamlProblem[] };

/** Parses an Automation runbook written in YAML (or JSON) and checks it against the schema and the house rules. */
export function parseAutomationDocument(text: string): AutomationParseResult {
  const parsed = parseYamlWithSchema(text, documentSchema);
  return parsed.ok ? { ok: true, document: parsed.value as AutomationDocument } : parsed;
}

// ---------------------------------------------------------------------------------------------------------------
// Structure: step references, `{{ }}` variables, outputs, payloads.

interface Problem {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Every step with where it sits: its path, its siblings, the loop around it (if any). */
interface Placed {
  readonly step: AutomationStep;
  readonly path: (string | number)[];
  readonly siblings: readonly AutomationStep[];
  readonly loop?: LoopStep;
  /** Steps whose outputs this step may read: those before it (and before its loop), and its loop. */
  readonly visible: ReadonlyMap<string, AutomationStep>;
}

function placeSteps(doc: AutomationDocument): Placed[] {
  const placed: Placed[] = [];
  const seen = new Map<string, AutomationStep>();
  doc.mainSteps.forEach((step, i) => {
    placed.push({ step, path: ['mainSteps', i], siblings: doc.mainSteps, visible: new Map(seen) });
    if (step.action === 'aws:loop') {
      const inner = new Map(seen);
      inner.set(step.name, step);
      step.inputs.Steps.forEach((child, j) => {
        placed.push({
          step: child,
          path: ['mainSteps', i, 'inputs', 'Steps', j],
          siblings: step.inputs.Steps,
          loop: step,
          visible: new Map(inner),
        });
        inner.set(child.name, child);
      });
      for (const child of step.inputs.Steps) seen.set(child.name, child);
    }
    seen.set(step.name, step);
  });
  return placed;
}

function structuralProblems(doc: AutomationDocument): Problem[] {
  const problems: Problem[] = [];
  const placed = placeSteps(doc);
  const byName = new Map<string, Placed>();
  for (const p of placed) {
    if (byName.has(p.step.name))
      problems.push({ path: [...p.path, 'name'], message: `step name "${p.step.name}" is used twice` });
    else byName.set(p.step.name, p);
  }
  const mainNames = new Set(doc.mainSteps.map((s) => s.name));
  const used = new Set<string>();

  const target = (p: Placed, field: (string | number)[], name: string) => {
    const reachable = p.loop ? new Set([...p.siblings.map((s) => s.name), ...mainNames]) : mainNames;
    if (!reachable.has(name))
      problems.push({ path: [...p.path, ...field], message: `step "${name}" does not exist (at this level)` });
    else if (name === p.step.name)
      problems.push({ path: [...p.path, ...field], message: 'a step cannot go to itself' });
  };

  for (const p of placed) {
    const { step } = p;
    if (step.isEnd && step.nextStep !== undefined)
      problems.push({
        path: [...p.path, 'nextStep'],
        message: 'a step cannot both end the runbook and name a next step',
      });
    if (p.loop && (step.isEnd !== undefined || step.nextStep !== undefined))
      problems.push({ path: p.path, message: 'a step inside aws:loop cannot use isEnd or nextStep' });
    if (step.nextStep !== undefined) target(p, ['nextStep'], step.nextStep);
    for (const field of ['onFailure', 'onCancel'] as const) {
      const value = step[field];
      if (value?.startsWith('step:')) target(p, [field], value.slice('step:'.length));
    }
    if (step.action === 'aws:loop' && step.onCancel !== undefined)
      problems.push({ path: [...p.path, 'onCancel'], message: 'aws:loop does not support onCancel' });
    if (step.action === 'aws:branch') {
      step.inputs.Choices.forEach((c, i) => {
        target(p, ['inputs', 'Choices', i, 'NextStep'], c.NextStep as string);
      });
      if (step.inputs.Default !== undefined) target(p, ['inputs', 'Default'], step.inputs.Default);
    }
    if (step.action === 'aws:invokeLambdaFunction') {
      if (step.timeoutSeconds === undefined || step.timeoutSeconds > MAX_INVOKE_SECONDS)
        problems.push({
          path: [...p.path, 'timeoutSeconds'],
          message: `an aws:invokeLambdaFunction step needs a timeoutSeconds of at most ${MAX_INVOKE_SECONDS} (Automation stops it there)`,
        });
      if (step.inputs.InvocationType !== undefined && step.inputs.InvocationType !== 'RequestResponse')
        problems.push({
          path: [...p.path, 'inputs', 'InvocationType'],
          message: 'must be RequestResponse: a step must wait for the outcome it reports',
        });
      if (step.inputs.Payload !== undefined)
        problems.push(...payloadProblems(doc, p, step.inputs.Payload, [...p.path, 'inputs', 'Payload']));
    }
    if (step.action === 'aws:executeScript') {
      if (step.timeoutSeconds === undefined || step.timeoutSeconds > MAX_SCRIPT_SECONDS)
        problems.push({
          path: [...p.path, 'timeoutSeconds'],
          message: `an aws:executeScript step needs a timeoutSeconds of at most ${MAX_SCRIPT_SECONDS} (Automation stops it there)`,
        });
      if (/\{\{|\}\}/.test(step.inputs.Script))
        problems.push({
          path: [...p.path, 'inputs', 'Script'],
          message: 'must hold no {{ }}: give the script values through InputPayload, as data',
        });
      if (!new RegExp(`^def ${step.inputs.Handler}\\(`, 'm').test(step.inputs.Script))
        problems.push({
          path: [...p.path, 'inputs', 'Handler'],
          message: `the Script defines no function ${step.inputs.Handler} at its top level`,
        });
    }
    // Every {{ }} in the step's inputs.
    const inputs = step.action === 'aws:loop' ? { ...step.inputs, Steps: undefined } : step.inputs;
    for (const [field, text] of stringsIn(inputs, ['inputs'])) {
      const leftover = text.replace(PLACEHOLDER, '');
      if (leftover.includes('{{') || leftover.includes('}}'))
        problems.push({ path: [...p.path, ...field], message: 'has a {{ or }} that is not a well-formed {{ name }}' });
      for (const match of text.matchAll(PLACEHOLDER)) {
        const ref = match[1] ?? '';
        const problem = referenceProblem(doc, p, ref);
        if (problem) problems.push({ path: [...p.path, ...field], message: `${match[0]}: ${problem}` });
        else used.add(ref);
      }
    }
  }

  // assumeRole is the AutomationAssumeRole parameter, as AWS's own runbooks do.
  const role = WHOLE_PLACEHOLDER.exec(doc.assumeRole)?.[1];
  if (role !== ASSUME_ROLE_PARAMETER || !Object.hasOwn(doc.parameters, ASSUME_ROLE_PARAMETER))
    problems.push({
      path: ['assumeRole'],
      message: `must be '{{ ${ASSUME_ROLE_PARAMETER} }}', a declared parameter (the role the stack creates)`,
    });
  else used.add(ASSUME_ROLE_PARAMETER);

  (doc.outputs ?? []).forEach((ref, i) => {
    const [stepName, output, ...rest] = ref.split('.');
    const step = stepName === undefined ? undefined : byName.get(stepName)?.step;
    if (step === undefined || output === undefined || rest.length > 0)
      problems.push({ path: ['outputs', i], message: `"${ref}" is not <step>.<output> of a step of this runbook` });
    else if (!outputsOf(step).includes(output))
      problems.push({
        path: ['outputs', i],
        message: `step ${stepName} has no output ${output} (it has ${outputsOf(step).join(', ') || 'none'})`,
      });
  });

  for (const name of Object.keys(doc.parameters))
    if (!used.has(name)) problems.push({ path: ['parameters', name], message: 'is declared but never used' });
  return problems;
}

function outputsOf(step: AutomationStep): string[] {
  const declared =
    step.action === 'aws:invokeLambdaFunction' || step.action === 'aws:executeScript'
      ? (step.outputs ?? []).map((o) => o.Name)
      : [];
  return [...ACTION_OUTPUTS[step.action], ...declared];
}

/** Why `{{ ref }}` cannot be resolved in step `p`, or undefined. */
function referenceProblem(doc: AutomationDocument, p: Placed, ref: string): string | undefined {
  if (Object.hasOwn(doc.parameters, ref)) return undefined;
  if ((AUTOMATION_VARIABLES as readonly string[]).includes(ref)) return undefined;
  if ((GLOBAL_VARIABLES as readonly string[]).includes(ref)) return undefined;
  if (ref.startsWith('automation:') || ref.startsWith('global:')) return 'is not an Automation variable';
  const [stepName, output, ...rest] = ref.split('.');
  if (stepName === undefined || output === undefined || rest.length > 0)
    return 'is neither a declared parameter nor <step>.<output>';
  const step = p.visible.get(stepName);
  if (step === undefined) return `is not a parameter, and no step ${stepName} runs before this one`;
  if (!outputsOf(step).includes(output))
    return `step ${stepName} has no output ${output} (it has ${outputsOf(step).join(', ') || 'none'})`;
  return undefined;
}

/**
 * The payload must be a JSON object once its placeholders are filled, and every value filled in must be unable to
 * close the string it sits in: a parameter's allowedPattern/allowedValues exclude `"` and `\` (Integer and Boolean
 * are safe by type), a loop's CurrentIteratorValue comes from such a parameter.
 */
function payloadProblems(doc: AutomationDocument, p: Placed, payload: string, path: (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  for (const match of payload.matchAll(PLACEHOLDER)) {
    const ref = match[1] ?? '';
    const unsafe = unsafeReason(doc, p, ref);
    if (unsafe) problems.push({ path, message: `${match[0]} ${unsafe}` });
  }
  try {
    const value: unknown = JSON.parse(payload.replace(PLACEHOLDER, '0'));
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      problems.push({ path, message: 'must be a JSON object' });
  } catch {
    problems.push({ path, message: 'is not JSON once its {{ }} are filled in' });
  }
  return problems;
}

function unsafeReason(doc: AutomationDocument, p: Placed, ref: string): string | undefined {
  const parameter = Object.hasOwn(doc.parameters, ref) ? doc.parameters[ref] : undefined;
  if (parameter) return parameterUnsafe(parameter);
  const [stepName = '', output] = ref.split('.');
  const step = p.visible.get(stepName);
  if (step?.action === 'aws:loop' && output === 'CurrentIteratorValue') {
    const iterators = step.inputs.Iterators;
    if (Array.isArray(iterators))
      return iterators.some((v) => /["\\]/.test(v)) ? 'iterates over a value with " or \\' : undefined;
    const source = iterators === undefined ? undefined : wholePlaceholder(iterators);
    const iterated = source !== undefined && Object.hasOwn(doc.parameters, source) ? doc.parameters[source] : undefined;
    if (!iterated) return 'iterates over something other than a parameter: its values are not known to be safe in JSON';
    // Each iteration is one item of the list.
    return parameterUnsafe(iterated.type === 'StringList' ? { ...iterated, type: 'String' } : iterated);
  }
  return undefined;
}

function parameterUnsafe(parameter: AutomationParameter): string | undefined {
  if (parameter.type === 'Boolean' || parameter.type === 'Integer') return undefined;
  if (parameter.type === 'StringList') return 'is a StringList: it cannot be placed inside a JSON string';
  if (parameter.allowedValues !== undefined)
    return parameter.allowedValues.every((v) => !/["\\]/.test(String(v)))
      ? undefined
      : 'has an allowed value with " or \\';
  if (parameter.allowedPattern !== undefined && !patternExcludesQuotes(parameter.allowedPattern))
    return `is not safe in JSON: its allowedPattern ${parameter.allowedPattern} must be built from explicit character classes that exclude " and \\`;
  return undefined;
}

/**
 * Whether `pattern` can never match a `"` or `\`, judged on its syntax: outside escapes it holds neither `"` nor
 * `.`, no negated class `[^`, and its escapes are only `\d`, `\w` and escaped punctuation (never `\\`, `\S`, `\W`,
 * `\D`, `\s`). Conservative: a safe pattern written otherwise is refused.
 */
export function patternExcludesQuotes(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!/^[dw.\-/+*?()[\]{}|^$:,=@_ ]$/.test(next)) return false;
      i++;
      continue;
    }
    if (c === '"') return false;
    if (c === '[') {
      if (pattern[i + 1] === '^') return false;
      inClass = true;
    } else if (c === ']') inClass = false;
    else if (c === '.' && !inClass) return false;
  }
  return true;
}

function* stringsIn(value: unknown, path: (string | number)[]): Generator<[(string | number)[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* stringsIn(v, [...path, i]);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) yield* stringsIn(v, [...path, k]);
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters and substitution.

export type ParameterValue = string | readonly string[] | number | boolean;

/** A parameter value the runbook does not accept, named by its parameter. */
export interface AutomationParameterError {
  readonly parameter: string;
  readonly message: string;
}

export type ResolvedParameters =
  | { readonly ok: true; readonly values: Readonly<Record<string, ParameterValue>> }
  | { readonly ok: false; readonly errors: readonly AutomationParameterError[] };

/**
 * Checks the values given to start a runbook, as Automation does before the first step: unknown parameters refused,
 * a parameter without a default required, each value of its type (Integer digits, Boolean true/false, a StringList
 * given as comma-separated items), matching allowedPattern (the whole value) or one of allowedValues. Returns the
 * typed values, defaults filled in.
 */
export function resolveParameters(
  doc: AutomationDocument,
  given: Readonly<Record<string, string | readonly string[]>>,
): ResolvedParameters {
  const errors: AutomationParameterError[] = [];
  const values: Record<string, ParameterValue> = {};
  for (const name of Object.keys(given).sort())
    if (!Object.hasOwn(doc.parameters, name))
      errors.push({ parameter: name, message: 'is not a parameter of this runbook' });
  for (const [name, p] of Object.entries(doc.parameters)) {
    const raw = Object.hasOwn(given, name) ? given[name] : undefined;
    if (raw === undefined) {
      if (p.default === undefined) errors.push({ parameter: name, message: 'is required' });
      else values[name] = p.default;
      continue;
    }
    const typed = toType(p, raw);
    if (typeof typed === 'object' && typed !== null && 'error' in typed) {
      errors.push({ parameter: name, message: typed.error });
      continue;
    }
    const problems = valueProblems(p, typed);
    for (const message of problems) errors.push({ parameter: name, message });
    if (problems.length === 0) values[name] = typed;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

export function formatAutomationParameterErrors(errors: readonly AutomationParameterError[]): string {
  return errors.map((e) => `${e.parameter} ${e.message}`).join('; ');
}

function toType(p: AutomationParameter, raw: string | readonly string[]): ParameterValue | { error: string } {
  const text = typeof raw === 'string' ? raw : raw.join(',');
  switch (p.type) {
    case 'String':
      return text;
    case 'StringList':
      return typeof raw === 'string' ? (raw === '' ? [] : raw.split(',')) : raw;
    case 'Integer':
      return /^-?[0-9]{1,15}$/.test(text) ? Number(text) : { error: `${showValue(text)} is not an integer` };
    case 'Boolean':
      return text === 'true' ? true : text === 'false' ? false : { error: `${showValue(text)} is not true or false` };
  }
}

function valueProblems(p: AutomationParameter, value: ParameterValue): string[] {
  const problems: string[] = [];
  const typeOk =
    p.type === 'StringList'
      ? Array.isArray(value) && value.every((v) => typeof v === 'string')
      : p.type === 'String'
        ? typeof value === 'string'
        : p.type === 'Integer'
          ? Number.isInteger(value)
          : typeof value === 'boolean';
  if (!typeOk) return [`must be of type ${p.type}`];
  const items: (string | number | boolean)[] = Array.isArray(value) ? [...value] : [value as string | number | boolean];
  if (p.type === 'StringList') {
    if (p.minItems !== undefined && items.length < p.minItems) problems.push(`needs at least ${p.minItems} items`);
    if (p.maxItems !== undefined && items.length > p.maxItems) problems.push(`takes at most ${p.maxItems} items`);
    const twice = items.find((v, i) => items.indexOf(v) !== i);
    if (twice !== undefined) problems.push(`lists ${showValue(String(twice))} twice`);
  }
  const pattern = p.allowedPattern === undefined ? undefined : new RegExp(p.allowedPattern);
  for (const item of items) {
    const text = String(item);
    if (pattern && !pattern.test(text)) problems.push(`${showValue(text)} does not match ${p.allowedPattern}`);
    if (p.allowedValues && !p.allowedValues.some((v) => String(v) === text))
      problems.push(`${showValue(text)} is not one of ${p.allowedValues.join(', ')}`);
    if (p.maxChars !== undefined && text.length > p.maxChars)
      problems.push(`is ${text.length} characters long, more than the ${p.maxChars} allowed`);
    if (p.minChars !== undefined && text.length < p.minChars)
      problems.push(`is ${text.length} characters long, fewer than the ${p.minChars} required`);
  }
  return problems;
}

/** What `{{ name }}` resolves to during an execution; undefined when it has no value (yet). */
export type VariableLookup = (name: string) => ParameterValue | undefined;

/**
 * `template` with its placeholders filled, as Automation does: a string that is exactly one `{{ x }}` becomes the
 * value itself (a list stays a list, a number a number); inside text a value is written out (a list as JSON).
 * One pass: a value is never scanned for further placeholders.
 * @throws Error naming the placeholder that has no value.
 */
export function substitute(template: unknown, lookup: VariableLookup): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole) return lookupValue(whole[1] ?? '', lookup);
    return template.replace(PLACEHOLDER, (_all, name: string) => {
      const value = lookupValue(name, lookup);
      return typeof value === 'string' ? value : JSON.stringify(value);
    });
  }
  if (Array.isArray(template)) return template.map((v) => substitute(v, lookup));
  if (typeof template === 'object' && template !== null)
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, substitute(v, lookup)]));
  return template;
}

function lookupValue(name: string, lookup: VariableLookup): ParameterValue {
  const value = lookup(name);
  if (value === undefined) throw new Error(`{{ ${name} }} has no value at this point of the execution`);
  return value;
}

/** Whether a branch choice (or loop condition) holds for `value`. */
export function choiceHolds(choice: Readonly<Record<string, unknown>>, value: ParameterValue): boolean {
  const op = OPERATORS.find((o) => choice[o] !== undefined);
  const expected = op === undefined ? undefined : choice[op];
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const number = typeof value === 'number' ? value : Number(text);
  switch (op) {
    case 'StringEquals':
      return text === expected;
    case 'EqualsIgnoreCase':
      return text.toLowerCase() === String(expected).toLowerCase();
    case 'StartsWith':
      return text.startsWith(String(expected));
    case 'EndsWith':
      return text.endsWith(String(expected));
    case 'Contains':
      return Array.isArray(value) ? value.includes(String(expected)) : text.includes(String(expected));
    case 'NumericEquals':
      return number === expected;
    case 'NumericGreater':
      return number > Number(expected);
    case 'NumericLesser':
      return number < Number(expected);
    case 'NumericGreaterOrEquals':
      return number >= Number(expected);
    case 'NumericLesserOrEquals':
      return number <= Number(expected);
    case 'BooleanEquals':
      return (value === true || text === 'true') === expected;
    default:
      return false;
  }
}

/** Seconds of an ISO 8601 duration (`PT30S`, `PT5M`, `P1DT2H`), or undefined; no years or months (their length varies). */
export function parseIsoDuration(text: string): number | undefined {
  const m = /^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return Number(d) * 86_400 + Number(h) * 3_600 + Number(min) * 60 + Number(s);
}

/** The placeholder name of a whole-value `{{ x }}` string, or undefined. */
export function wholePlaceholder(text: string): string | undefined {
  return WHOLE_PLACEHOLDER.exec(text)?.[1];
}

/** What replaces a runbook file's placeholders where it runs: the stack (ARNs, the fleet) or the local runtime. */
export interface RunbookPlacement {
  /** The operator function (its ARN in AWS); every FunctionName `acgs-operator-api` becomes this. */
  readonly functionName?: string;
  /** The fleet's services in dependency order: the default of every `Services` list `[acgs-fleet-services]`. */
  readonly services?: readonly string[];
  /** The role the runbooks run as: the default of AutomationAssumeRole. */
  readonly assumeRole?: string;
}

/**
 * A runbook's content (as parsed from its file) with its placeholders replaced: the same replacement for the
 * deployed document and the locally executed one, so both run the file's steps unchanged otherwise.
 */
export function placeRunbook<T>(content: T, placement: RunbookPlacement): T {
  const walk = (value: unknown, key: string | undefined, parent: string | undefined): unknown => {
    if (typeof value === 'string') {
      if (key === 'FunctionName' && value === OPERATOR_FUNCTION_PLACEHOLDER && placement.functionName !== undefined)
        return placement.functionName;
      if (key === 'default' && parent === ASSUME_ROLE_PARAMETER && value === ASSUME_ROLE_PLACEHOLDER)
        return placement.assumeRole ?? value;
      return value;
    }
    if (Array.isArray(value)) {
      if (
        key === 'default' &&
        placement.services !== undefined &&
        value.length === 1 &&
        value[0] === FLEET_SERVICES_PLACEHOLDER
      )
        return [...placement.services];
      return value.map((v) => walk(v, undefined, parent));
    }
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k, key)]));
    return value;
  };
  return walk(content, undefined, undefined) as T;
}
