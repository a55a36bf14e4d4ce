import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The arrows of the code base, read from the source: every `import`/`export ... from '...'` of lambdas/, type-only
 * ones included (a type-only circle still means two modules that cannot be understood apart, and a domain type that
 * needs an adapter's type has its home in the wrong place).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Module specifiers that reach I/O: the core stays pure (STYLE.md habit 1). */
const IO_MODULES = [
  /^node:(fs|fs\/promises|child_process|net|http|https|http2|dns|dns\/promises|tls|dgram)$/,
  /^@aws-sdk\//,
  /^pg$/,
  /^better-sqlite3$/,
  /^nodemailer$/,
  /^croner$/,
];

/**
 * The one allowed I/O-looking import of the core: core/schedules.ts uses croner paused, only to check that a cron
 * expression can be scheduled (no timer is ever started); the test below holds it to that.
 */
const CORE_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = { 'lambdas/core/schedules.ts': ['croner'] };

const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[\s\S]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

interface SourceFile {
  /** Path from the repository root, `/`-separated. */
  readonly path: string;
  readonly text: string;
  /** Every specifier imported or re-exported. */
  readonly specifiers: readonly string[];
  /** Relative specifiers resolved to paths from the repository root. */
  readonly local: readonly string[];
}

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => {
      const path = `${dir}/${f.split('\\').join('/')}`;
      const text = readFileSync(join(ROOT, path), 'utf8');
      const specifiers = [...text.matchAll(IMPORT)].map((m) => m[1] ?? '');
      const local = specifiers
        .filter((s) => s.startsWith('.'))
        .map((s) =>
          relative(ROOT, resolve(ROOT, dirname(path), s))
            .split('\\')
            .join('/'),
        );
      return { path, text, specifiers, local };
    });
}

/** Every circle of the graph (strongly connected components of more than one file, or a file importing itself). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const lambdas = sourceFiles('lambdas');
const under = (dir: string) => lambdas.filter((f) => f.path.startsWith(`${dir}/`));

describe('the import graph of lambdas/', () => {
  it('reads the imports of every file, type-only and multi-line ones included', () => {
    // Prepare
    const escalation = lambdas.find((f) => f.path === 'lambdas/core/escalation.ts');
    const runtime = lambdas.find((f) => f.path === 'lambdas/handlers/aws-runtime.ts');
    // Assess
    expect(lambdas.length).toBeGreaterThan(50);
    expect(escalation?.local).toContain('lambdas/core/incident.ts');
    expect(runtime?.specifiers).toContain('@aws-sdk/client-ssm');
  });

  it('finds a circle when there is one', () => {
    // Prepare
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    // Act & Assess
    expect(circles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('has no import circles', () => {
    // Prepare
    const graph = new Map(lambdas.map((f) => [f.path, f.local]));
    // Act & Assess
    expect(circles(graph)).toEqual([]);
  });

  it('keeps lambdas/core free of I/O', () => {
    // Act
    const offending = under('lambdas/core').flatMap((f) =>
      f.specifiers
        .filter((s) => IO_MODULES.some((m) => m.test(s)) && !(CORE_EXCEPTIONS[f.path] ?? []).includes(s))
        .map((s) => `${f.path} imports ${s}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });

  it('uses croner in the core only paused, to check schedules', () => {
    // Prepare
    const schedules = lambdas.find((f) => f.path === 'lambdas/core/schedules.ts');
    const constructions = [...(schedules?.text ?? '').matchAll(/new Cron\(([^)]*)\)/g)].map((m) => m[1] ?? '');
    // Assess
    expect(constructions.length).toBeGreaterThan(0);
    for (const args of constructions) expect(args).toMatch(/paused: true/);
  });

  it('keeps lambdas/ from importing lib/', () => {
    // Act
    const offending = lambdas.flatMap((f) =>
      f.local.filter((p) => p.startsWith('lib/')).map((p) => `${f.path} imports ${p}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });

  it('keeps lambdas/local and lambdas/demo from importing lambdas/cli', () => {
    // Act
    const offending = [...under('lambdas/local'), ...under('lambdas/demo')].flatMap((f) =>
      f.local.filter((p) => p.startsWith('lambdas/cli/')).map((p) => `${f.path} imports ${p}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });

  it('keeps lambdas/local from importing lambdas/demo (the daemon does not know the demo)', () => {
    // Act
    const offending = under('lambdas/local').flatMap((f) =>
      f.local.filter((p) => p.startsWith('lambdas/demo/')).map((p) => `${f.path} imports ${p}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });

  it('keeps lib/ and bin/app.ts from importing handlers, adapters or use-cases', () => {
    // Prepare
    const infrastructure = [...sourceFiles('lib'), ...sourceFiles('bin').filter((f) => f.path === 'bin/app.ts')];
    // Act
    const offending = infrastructure.flatMap((f) =>
      f.local.filter((p) => /^lambdas\/(handlers|adapters|use-cases)\//.test(p)).map((p) => `${f.path} imports ${p}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });
});

/** Unit tests about the whole tree rather than one module. */
const TREE_WIDE_TESTS = ['test/unit/architecture.test.ts', 'test/unit/bundle-graph.test.ts'];

describe('the unit tests', () => {
  it('mirror the code: test/unit/X.test.ts tests lambdas/X.ts (or X.ts for bench/), so tests are found by their module path', () => {
    // Prepare
    const tests: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.test.ts')) tests.push(path);
      }
    };
    walk('test/unit');
    // Act
    const orphans = tests
      .filter((t) => !TREE_WIDE_TESTS.includes(t))
      .filter((t) => {
        const module = t.slice('test/unit/'.length, -'.test.ts'.length);
        return ![`lambdas/${module}.ts`, `${module}.ts`].some((candidate) => existsSync(join(ROOT, candidate)));
      });
    // Assess
    expect(tests.length).toBeGreaterThan(30);
    expect(orphans).toEqual([]);
  });
});
