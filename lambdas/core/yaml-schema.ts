import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/** One problem in a YAML file, named by its field path and, where the parser knows it, its line. */
export interface YamlProblem {
  readonly path: string;
  readonly line?: number;
  readonly message: string;
}

export type YamlParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly YamlProblem[] };

/**
 * How far aliases (`*name`) may expand when the document becomes plain data: enough for any hand-written config
 * that shares a block or two, far too little for an exponential "billion laughs" bomb. The yaml package's default.
 */
const MAX_YAML_ALIAS_COUNT = 100;

/**
 * Parses YAML (JSON is YAML) and validates it with a zod schema: one problem per issue, each with its field path
 * and the line of the offending node (a missing key at its parent's line; each unknown key on its own line).
 * Pure: the caller reads the file.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, schema: S): YamlParseResult<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '(yaml)',
        line: lineCounter.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (error) {
    // The yaml package refuses a document whose aliases expand past the bound (a "billion laughs" bomb).
    // Alias problems surface only here, as a ReferenceError; anything else is a bug and keeps its stack.
    if (!(error instanceof ReferenceError)) throw error;
    const message = /excessive alias count/i.test(error.message)
      ? `too many YAML aliases (their expansion passes ${MAX_YAML_ALIAS_COUNT} nodes, as in an alias bomb): write the values out instead`
      : error.message;
    return { ok: false, problems: [{ path: '(yaml)', message }] };
  }
  if (raw === null || raw === undefined) return { ok: false, problems: [{ path: '(root)', message: 'file is empty' }] };
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problems: parsed.error.issues.flatMap((i) => describeIssue(i, doc, lineCounter)) };
}

type Doc = ReturnType<typeof parseDocument>;

function describeIssue(issue: z.core.$ZodIssue, doc: Doc, lineCounter: LineCounter): YamlProblem[] {
  const base = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // zod reports all unknown keys of one object in one issue; give each its own line.
  const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...base, k]) : [base];
  return paths.map((path) => {
    const line = lineOf(doc, lineCounter, path, issue.code === 'unrecognized_keys');
    const message =
      issue.code === 'unrecognized_keys'
        ? 'unknown key (check the spelling; unknown keys are rejected)'
        : issue.code === 'invalid_type' && /received undefined/.test(issue.message)
          ? 'is required'
          : issue.message;
    return { path: path.length > 0 ? path.join('.') : '(root)', ...(line === undefined ? {} : { line }), message };
  });
}

function lineOf(doc: Doc, lineCounter: LineCounter, path: (string | number)[], isKey: boolean): number | undefined {
  // Walk up until a node exists (a missing key is reported at its parent object).
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth);
    let node: unknown = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
    if (isKey && depth === path.length && depth > 0) {
      const parent = doc.getIn(path.slice(0, -1), true);
      if (isNode(parent) && 'items' in parent && Array.isArray(parent.items)) {
        const pair = parent.items.find(
          (p: unknown) =>
            typeof p === 'object' && p !== null && 'key' in p && isNode(p.key) && String(p.key) === path.at(-1),
        );
        if (pair) node = (pair as { key: unknown }).key;
      }
    }
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

export function formatYamlProblems(what: string, source: string, problems: readonly YamlProblem[]): string {
  const lines = problems.map((p) => `  ${source}${p.line === undefined ? '' : `:${p.line}`}  ${p.path}: ${p.message}`);
  return `invalid ${what} ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
