import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planSimulatedFleet, SIM_SERVICE_SCRIPT, type SimulatedFleetSpec } from '../../lambdas/demo/fleet-sim/plan.ts';

/** git with a fixed identity and no system config, in `cwd`; its output trimmed. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  }).trim();
}

/** The four services of a rolling-update fleet, in rollout order. */
export const GIT_FLEET_NAMES = ['auth', 'ac', 'integrity', 'fv'] as const;
/** A revision that starts the simulated service. */
export const GOOD_SERVE = `import ${JSON.stringify(SIM_SERVICE_SCRIPT)};\n`;
/** A revision that cannot start. */
export const BROKEN_SERVE = "console.error('integrity v2: cannot load the policy model'); process.exit(1);\n";

export interface GitFleet {
  readonly spec: SimulatedFleetSpec;
  /** Each service's first revision (GOOD_SERVE, VERSION v1). */
  readonly v1: Readonly<Record<string, string>>;
  /** Commits `files` in the seed clone of `name` and pushes them upstream; returns the new revision. */
  publish(name: string, files: Record<string, string>, message: string): string;
}

/**
 * A simulated fleet of GIT_FLEET_NAMES (not started) under `root`, each service running `node serve.mjs` from its
 * own clone of its own upstream, so what a service runs is what its checked-out revision holds.
 */
export async function plantGitFleet(root: string): Promise<GitFleet> {
  const planned = await planSimulatedFleet({
    dir: join(root, 'fleet'),
    watchPid: process.pid,
    services: GIT_FLEET_NAMES.map((name) => ({ name, displayName: name, shape: 'raw', critical: true })),
  });
  const spec: SimulatedFleetSpec = {
    ...planned,
    services: planned.services.map((s) => ({ ...s, start: s.start.replace(SIM_SERVICE_SCRIPT, 'serve.mjs') })),
  };
  const publish = (name: string, files: Record<string, string>, message: string): string => {
    const seed = join(root, 'seed', name);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(seed, file), text);
    git(seed, 'add', '.');
    git(seed, 'commit', '--quiet', '-m', message);
    git(seed, 'push', '--quiet', 'origin', 'main');
    return git(seed, 'rev-parse', 'HEAD');
  };
  const v1: Record<string, string> = {};
  for (const service of spec.services) {
    const upstream = join(root, 'upstream', `${service.name}.git`);
    const seed = join(root, 'seed', service.name);
    mkdirSync(join(root, 'upstream'), { recursive: true });
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', upstream);
    git(root, 'clone', '--quiet', upstream, seed);
    git(seed, 'checkout', '--quiet', '-B', 'main');
    v1[service.name] = publish(service.name, { 'serve.mjs': GOOD_SERVE, VERSION: 'v1\n' }, 'v1');
    git(root, 'clone', '--quiet', '--branch', 'main', upstream, service.directory);
  }
  return { spec, v1, publish };
}
