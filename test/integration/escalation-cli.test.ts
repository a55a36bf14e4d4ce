import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalationCommandWith } from '../../lambdas/cli/escalation-command.ts';
import { incidentCommand } from '../../lambdas/cli/incident-command.ts';
import { runCli } from '../../lambdas/cli/run-cli.ts';
import { ManualClock, SECOND, T0 } from '../support/harness.ts';
import { REPO_ROOT } from '../support/run-cli.ts';

/*
 * `acgs-ops escalation test` in-process on this host (--target local), on a state directory of its own and the shipped
 * config (channels: console and pages-file), with a manual clock: the command's wait moves the clock instead of
 * sleeping, and acknowledges (another `acgs-ops incident ack`) when the test says so.
 */

const CONFIG = join(REPO_ROOT, 'config', 'acgs-1.yaml');
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-escalation-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly sleeps: number[];
}

/**
 * Runs `acgs-ops escalation test ...`; `onSleep(id)` runs at each wait of the command (after the clock moved), with
 * the test incident's id.
 */
async function escalationTest(
  args: readonly string[],
  state: string,
  onSleep: (id: string, clock: ManualClock) => Promise<void> = async () => {},
): Promise<Run> {
  const clock = new ManualClock(T0);
  let stdout = '';
  let stderr = '';
  const sleeps: number[] = [];
  const context = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    clock,
  };
  const command = escalationCommandWith({
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
      const id = /escalation test (INC-[A-Z0-9-]+)/.exec(stdout)?.[1] ?? '';
      await onSleep(id, clock);
    },
  });
  const code = await runCli(
    ['escalation', 'test', ...args, '--config', CONFIG, '--state', state, '--by', 'alice'],
    [command],
    context,
  );
  return { code, stdout, stderr, sleeps };
}

/** `acgs-ops incident ack ID --by NAME` in-process at the clock's time. */
async function ack(id: string, by: string, state: string, clock: ManualClock): Promise<number> {
  return runCli(['incident', 'ack', id, '--by', by, '--config', CONFIG, '--state', state], [incidentCommand], {
    stdout: () => {},
    stderr: () => {},
    clock,
  });
}

async function pagesFile(state: string): Promise<{ incidentId: string; why: string; level: number }[]> {
  const text = await readFile(join(state, 'pages.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

const stateDir = () => join(root, `state-${n++}`);

describe('acgs-ops escalation test', () => {
  it('passes when acknowledged, saying who acknowledged and after how long, and resolves the test incident', async () => {
    // Prepare
    const state = stateDir();
    // Act: bob acknowledges at the second look (10 s in)
    const run = await escalationTest([], state, async (id, clock) => {
      if (clock.now() >= T0 + 10 * SECOND) expect(await ack(id, 'bob', state, clock)).toBe(0);
    });
    // Assess
    const id = /escalation test (INC-[A-Z0-9-]+)/.exec(run.stdout)?.[1];
    expect(run.stdout).toBe(
      `escalation test ${id}: paged level 1 (Operations) through console, pages-file\n` +
        `waiting up to 10m for: acgs-ops incident ack ${id}\n` +
        `passed: acknowledged by bob after 10s; ${id} resolved\n`,
    );
    expect(run.code).toBe(0);
    expect(run.sleeps).toEqual([5 * SECOND, 5 * SECOND]);
    // The page went through both channels: the console (stderr here) and the JSON-lines file.
    expect(run.stderr).toContain(`PAGE  [P3] acgs-1: Escalation test: level 1 (Operations)`);
    expect(run.stderr).toContain('Why you get this: escalation test: acknowledge it to pass (nothing is wrong)');
    expect(await pagesFile(state)).toMatchObject([{ incidentId: id, why: 'test', level: 1 }]);
    const shown = await runCli(
      ['incident', 'list', '--all', '--json', '--config', CONFIG, '--state', state],
      [incidentCommand],
      {
        stdout: (t) => {
          expect(JSON.parse(t).incidents).toMatchObject([
            {
              id,
              kind: 'test',
              status: 'resolved',
              acknowledgedBy: 'bob',
              resolution: 'escalation test passed: acknowledged by bob after 10s',
            },
          ]);
        },
        stderr: () => {},
        clock: new ManualClock(T0 + 20 * SECOND),
      },
    );
    expect(shown).toBe(0);
  });

  it('fails with exit 1 naming the channels paged when nobody acknowledges within --wait', async () => {
    // Prepare
    const state = stateDir();
    // Act
    const run = await escalationTest(['--wait', '12s'], state);
    // Assess
    const id = /escalation test (INC-[A-Z0-9-]+)/.exec(run.stdout)?.[1];
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `failed: escalation test failed: not acknowledged (paged level 1 (Operations) through console, pages-file); ${id} resolved\n`,
    );
    expect(run.sleeps).toEqual([5 * SECOND, 5 * SECOND, 2 * SECOND]);
  });

  it('pages only the channel named with --channel', async () => {
    // Prepare
    const state = stateDir();
    // Act
    const run = await escalationTest(['--channel', 'pages-file', '--wait', '10s'], state);
    // Assess
    expect(run.stdout).toContain('paged level 1 (Operations) through pages-file\n');
    // (That the console then stays silent is RoutingNotifier's honouring of onlyChannel: test/integration/notifiers.)
    expect(await pagesFile(state)).toHaveLength(1);
    expect(run.code).toBe(1);
  });

  it('refuses an unknown channel or level, and a bad wait, naming the flag, before any state exists', async () => {
    // Prepare
    const state = stateDir();
    // Act
    const runs = await Promise.all([
      escalationTest(['--channel', 'pagerduty'], state),
      escalationTest(['--level', '7'], state),
      escalationTest(['--level', 'two'], state),
      escalationTest(['--wait', '2d'], state),
    ]);
    // Assess
    expect(runs.map((r) => r.code)).toEqual([64, 64, 64, 64]);
    expect(runs[0]?.stderr).toBe(
      'acgs-ops: --channel: no page channel named "pagerduty" (page channels: console, pages-file)\n',
    );
    expect(runs[1]?.stderr).toBe('acgs-ops: --level: there is no escalation level 7 (levels 1-4)\n');
    expect(runs[2]?.stderr).toContain('--level');
    expect(runs[3]?.stderr).toContain('--wait');
    expect(existsSync(state)).toBe(false);
  });
});
