import * as z from 'zod';
import { ControlPlaneError, errorMessage } from './errors.ts';
import { parseYamlWithSchema, type YamlProblem } from './yaml-schema.ts';

/**
 * SSM Command documents (`ssm-documents/*.yaml`): the model, parameter validation and SSM-style substitution.
 * Pure: callers read the files. The same documents run through SSM Run Command in AWS and through the local
 * ShellCommandRunner, so this module follows the SSM agent's rules where it matters: `{{ Name }}` with any
 * whitespace inside the braces, defaults for missing parameters, unknown parameters rejected, and a StringList
 * embedded in text rendered as a JSON array.
 */

/** SSM parameter names: letters and digits only. */
const PARAMETER_NAME = /^[A-Za-z0-9]+$/;
/** Any `{{ ... }}` placeholder; a name that is not a declared parameter is a document error. */
const PLACEHOLDER = /\{\{\s*([^{}\s]*)\s*\}\}/g;

const parameterSchema = z
  .strictObject({
    type: z.enum(['String', 'StringList']),
    description: z.string().min(1),
    default: z.union([z.string(), z.array(z.string())]).optional(),
    allowedPattern: z.string().min(1).optional(),
    allowedValues: z.array(z.string()).min(1).optional(),
    minChars: z.int().min(0).optional(),
    maxChars: z.int().min(1).optional(),
    minItems: z.int().min(0).optional(),
    maxItems: z.int().min(1).optional(),
    displayType: z.enum(['textarea', 'textfield']).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.allowedPattern === undefined && p.allowedValues === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'needs allowedPattern or allowedValues: every value must be constrained',
      });
    if (p.allowedPattern !== undefined) {
      const problem = patternProblem(p.allowedPattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['allowedPattern'], message: problem });
    }
    if (p.default !== undefined && Array.isArray(p.default) !== (p.type === 'StringList'))
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `must be a ${p.type === 'String' ? 'string' : 'list'}`,
      });
  });

const stepSchema = z.strictObject({
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 letters, digits, _ . or -'),
  precondition: z.strictObject({ StringEquals: z.tuple([z.literal('platformType'), z.literal('Linux')]) }).optional(),
  inputs: z.strictObject({
    runCommand: z.array(z.string()).min(1),
    timeoutSeconds: z.union([z.string(), z.int().min(1)]).optional(),
    workingDirectory: z.string().optional(),
  }),
});

const documentSchema = z
  .strictObject({
    schemaVersion: z.literal('2.2'),
    description: z.string().min(1),
    parameters: z.record(z.string().regex(PARAMETER_NAME, 'parameter names are letters and digits'), parameterSchema),
    mainSteps: z.tuple([stepSchema], { error: 'must be exactly one aws:runShellScript step' }),
  })
  .superRefine((doc, ctx) => {
    for (const [name, p] of Object.entries(doc.parameters)) {
      if (p.default === undefined) continue;
      for (const problem of valueProblems(p, p.default))
        ctx.addIssue({ code: 'custom', path: ['parameters', name, 'default'], message: problem });
    }
    const text = doc.mainSteps[0].inputs.runCommand.join('\n');
    const used = new Set<string>();
    for (const match of text.matchAll(PLACEHOLDER)) {
      const name = match[1] ?? '';
      used.add(name);
      if (!Object.hasOwn(doc.parameters, name))
        ctx.addIssue({
          code: 'custom',
          path: ['mainSteps', 0, 'inputs', 'runCommand'],
          message: `placeholder ${match[0]} is not a declared parameter`,
        });
    }
    const leftover = text.replace(PLACEHOLDER, '');
    if (leftover.includes('{{') || leftover.includes('}}'))
      ctx.addIssue({
        code: 'custom',
        path: ['mainSteps', 0, 'inputs', 'runCommand'],
        message: 'has a {{ or }} that is not a well-formed {{ Name }} placeholder',
      });
    for (const name of Object.keys(doc.parameters))
      if (!used.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', name],
          message: 'is declared but never used in the script',
        });
  });

export type SsmParameter = z.output<typeof parameterSchema>;
export type SsmDocument = z.output<typeof documentSchema>;

/** One problem in a document file, named by its field path and, where the parser knows it, its line. */
export type DocumentProblem = YamlProblem;

export type DocumentParseResult =
  | { readonly ok: true; readonly document: SsmDocument }
  | { readonly ok: false; readonly problems: readonly DocumentProblem[] };

/** Parses and validates an SSM Command document written in YAML (or JSON). */
export function parseSsmDocument(text: string): DocumentParseResult {
  const parsed = parseYamlWithSchema(text, documentSchema);
  return parsed.ok ? { ok: true, document: parsed.value } : parsed;
}

/** A parameter value the document does not accept, named by its parameter. */
export interface ParameterError {
  readonly parameter: string;
  readonly message: string;
}

/**
 * Checks request parameters against a document as SSM does before running anything: every parameter without a
 * default is required, unknown parameters are rejected, values must match `allowedPattern` (the whole value) or be
 * one of `allowedValues`, within `minChars`/`maxChars`. A StringList value is given as comma-separated items (as on
 * the AWS CLI), each item checked on its own.
 */
export function validateParameters(doc: SsmDocument, params: Readonly<Record<string, string>>): ParameterError[] {
  const errors: ParameterError[] = [];
  for (const name of Object.keys(params).sort())
    if (!Object.hasOwn(doc.parameters, name))
      errors.push({ parameter: name, message: 'is not a parameter of this document' });
  for (const [name, p] of Object.entries(doc.parameters)) {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined) {
      if (p.default === undefined) errors.push({ parameter: name, message: 'is required' });
      continue;
    }
    const items = p.type === 'StringList' ? value.split(',') : value;
    for (const message of valueProblems(p, items)) errors.push({ parameter: name, message });
  }
  return errors;
}

/**
 * The document's script with every `{{ Name }}` replaced by its value (or default), after validation. One pass:
 * a value is never scanned for further placeholders.
 * @throws ControlPlaneError `SSM_INVALID_PARAMETERS` when `validateParameters` reports anything.
 */
export function renderScript(doc: SsmDocument, params: Readonly<Record<string, string>>): string {
  const errors = validateParameters(doc, params);
  if (errors.length > 0)
    throw new ControlPlaneError('SSM_INVALID_PARAMETERS', `invalid parameters: ${formatParameterErrors(errors)}`);
  const values = new Map<string, string>();
  for (const [name, p] of Object.entries(doc.parameters)) {
    const given = Object.hasOwn(params, name) ? params[name] : undefined;
    const raw = given === undefined ? p.default : p.type === 'StringList' ? given.split(',') : given;
    values.set(name, typeof raw === 'string' ? raw : JSON.stringify(raw ?? []));
  }
  return doc.mainSteps[0].inputs.runCommand
    .join('\n')
    .replace(PLACEHOLDER, (whole, name: string) => values.get(name) ?? whole);
}

export function formatParameterErrors(errors: readonly ParameterError[]): string {
  return errors.map((e) => `${e.parameter} ${e.message}`).join('; ');
}

/** Why an `allowedPattern` is unusable (unanchored, or not a regular expression), or undefined; Command and Automation documents alike. */
export function patternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || pattern.endsWith('\\$'))
    return 'must be anchored: start with ^ and end with $';
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `is not a valid regular expression (${errorMessage(error)})`;
  }
}

function valueProblems(p: SsmParameter, value: string | readonly string[]): string[] {
  const problems: string[] = [];
  const items = typeof value === 'string' ? [value] : value;
  if (p.type === 'StringList') {
    if (p.minItems !== undefined && items.length < p.minItems) problems.push(`needs at least ${p.minItems} items`);
    if (p.maxItems !== undefined && items.length > p.maxItems) problems.push(`takes at most ${p.maxItems} items`);
  }
  const pattern = p.allowedPattern === undefined ? undefined : new RegExp(p.allowedPattern);
  for (const item of items) {
    const shown = showValue(item);
    if (pattern && !pattern.test(item)) problems.push(`${shown} does not match ${p.allowedPattern}`);
    if (p.allowedValues && !p.allowedValues.includes(item))
      problems.push(`${shown} is not one of ${p.allowedValues.join(', ')}`);
    if (p.maxChars !== undefined && item.length > p.maxChars)
      problems.push(`is ${item.length} characters long, more than the ${p.maxChars} allowed`);
    if (p.minChars !== undefined && item.length < p.minChars)
      problems.push(`is ${item.length} characters long, fewer than the ${p.minChars} required`);
  }
  return problems;
}

/** A value quoted for an error message, shortened: values may be long or hostile. */
export function showValue(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}
