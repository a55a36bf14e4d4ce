import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import {
  DEFAULT_DOCUMENTS_DIR,
  ShellCommandRunner,
  type SpawnProcess,
} from '../../lambdas/adapters/local/shell-command-runner.ts';

/**
 * Values no parameter of any document may accept: each tries to run `touch <marker>` (or write to the marker), to
 * break out of quoting, or to pass for an option, alone and after the parameter's good value. With
 * `pathTraversalValues`, the union of what the injection tests of the service, fleet, rolling-update and backup
 * documents tried, so each of them now tries all.
 */
export function hostileValues(good: string, marker: string): string[] {
  const touch = `touch ${marker}`;
  return [
    `x; ${touch}`,
    `$(${touch})`,
    `\`${touch}\``,
    `a' ; ${touch} ; '`,
    `a\n${touch}`,
    `${good}; ${touch}`,
    `${good}$(${touch})`,
    `${good}\`${touch}\``,
    `${good}' ; ${touch} ; '`,
    `${good}\n${touch}`,
    `${good} | ${touch}`,
    `${good} && ${touch}`,
    `${good} > ${marker}`,
    `${good}\\`,
    `${good}*`,
    `-${good}`,
  ];
}

/**
 * Paths climbing out with `..`. Every parameter refuses them except one holding a command's words (a service's
 * StartCommand, and a Services list, whose last field is the start command): those words are the command's
 * arguments, passed as they are, so a path among them is not hostile there.
 */
export function pathTraversalValues(good: string): string[] {
  return ['../../etc/passwd', `${good}/../../etc/passwd`, 's3://bucket/../../etc/passwd'];
}

/** One document under attack: a valid set of parameters and the parameters to replace, one at a time. */
export interface InjectionTarget {
  readonly document: string;
  /** Valid values; a parameter without one gets `x` as its good value (and is left out of the others' runs). */
  readonly valid: Readonly<Record<string, string>>;
  readonly parameters: readonly string[];
}

export interface InjectionOptions {
  readonly marker: string;
  /** Parameters holding a command's words, which are not tried with `pathTraversalValues`. */
  readonly commandParameters?: ReadonlySet<string>;
  /** Values tried on top of `hostileValues` for one parameter (given its good value). */
  readonly extra?: (document: string, parameter: string, good: string) => readonly string[];
}

/**
 * Runs every document with each hostile value in each of its parameters in turn (the other parameters valid) through
 * a ShellCommandRunner that counts the processes it starts, and expects every run rejected, naming the parameter,
 * no process started and no marker written. Returns how many runs it checked.
 */
export async function expectEveryHostileValueRejected(
  targets: Iterable<InjectionTarget>,
  { marker, commandParameters, extra }: InjectionOptions,
): Promise<number> {
  // A runner that counts the processes it starts
  let spawns = 0;
  const counting: SpawnProcess = (command, args, options) => {
    spawns += 1;
    return spawn(command, args, options);
  };
  const guarded = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, { spawnProcess: counting });
  let checked = 0;
  for (const { document, valid, parameters } of targets) {
    for (const parameter of parameters) {
      const good = valid[parameter] ?? 'x';
      const values = [
        ...hostileValues(good, marker),
        ...(commandParameters?.has(parameter) ? [] : pathTraversalValues(good)),
        ...(extra?.(document, parameter, good) ?? []),
      ];
      for (const value of values) {
        // Act
        const result = await guarded.run({ document, parameters: { ...valid, [parameter]: value }, timeoutMs: 5_000 });
        // Assess
        expect(result.status, `${document}.${parameter} = ${JSON.stringify(value)}`).toBe('rejected');
        expect(result.output).toContain(`parameter ${parameter} `);
        checked += 1;
      }
    }
  }
  expect(spawns).toBe(0);
  expect(existsSync(marker)).toBe(false);
  return checked;
}
