import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { T0 } from '../support/harness.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { newIncident } from '../support/state-store-contract.ts';

/** Operator input on the command line: bounded and free of control characters, or exit 64 naming the flag. */
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-incident-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const stateDir = () => join(root, `state-${n++}`);
const DECLARE = ['incident', 'declare', '--type', 'manual', '--severity', 'P3'];

describe('acgs-ops incident with bad input', () => {
  it('exits 64 naming --service and the bound when a declaration lists more than 32 services', async () => {
    // Prepare
    const state = stateDir();
    const services = Array.from({ length: 33 }, () => ['--service', 'auth']).flat();
    // Act
    const run = await runAcgsOps([...DECLARE, '--title', 'too wide', ...services, '--state', state]);
    // Assess
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 64, stdout: '' });
    expect(run.stderr).toBe('acgs-ops: --service: at most 32 services per incident\n');
    expect(existsSync(state)).toBe(false);
  });

  it('exits 64 naming the flag when a title, note, reason or --by holds an escape code or a newline', async () => {
    // Prepare
    const state = stateDir();
    // Act
    const runs = await Promise.all([
      runAcgsOps([...DECLARE, '--title', 'db down\u001b[2J', '--state', state]),
      runAcgsOps([...DECLARE, '--title', 'two\nlines', '--state', state]),
      runAcgsOps(['incident', 'ack', 'INC-1', '--note', 'x\u001b]0;pwned\u0007', '--state', state]),
      runAcgsOps(['incident', 'resolve', 'INC-1', '--reason', 'x\u0008', '--state', state]),
      runAcgsOps(['incident', 'ack', 'INC-1', '--by', 'eve\u001b[8m', '--state', state]),
    ]);
    // Assess
    expect(runs.map((r) => r.code)).toEqual([64, 64, 64, 64, 64]);
    expect(runs.map((r) => /^acgs-ops: (--[a-z]+):/.exec(r.stderr)?.[1])).toEqual([
      '--title',
      '--title',
      '--note',
      '--reason',
      '--by',
    ]);
    for (const r of runs) expect(r.stderr).not.toContain('\u001b');
    expect(existsSync(state)).toBe(false);
  });

  it('exits 64 naming --reason before creating state when a maintenance reason holds an escape code', async () => {
    // Prepare
    const state = stateDir();
    // Act
    const run = await runAcgsOps(['maintenance', 'start', '--for', '1h', '--reason', 'x\u001b[2J', '--state', state]);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^acgs-ops: --reason: must hold no control characters/);
    expect(existsSync(state)).toBe(false);
  });

  it('quotes a bad incident id in its error with the escape codes shown, not run', async () => {
    // Act
    const run = await runAcgsOps(['incident', 'show', 'INC\u001b[31m', '--state', stateDir()]);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toBe('acgs-ops: "INC\\x1b[31m" is not an incident id (INC-...)\n');
  });

  it('prints stored control characters visibly escaped in incident list and show', async () => {
    // Prepare: an incident stored before input was checked, with terminal escapes in its title and a note.
    const state = stateDir();
    const store = new SqliteStateStore(join(state, 'state.db'));
    const incident = { ...newIncident('old'), title: 'db down\u001b[2J\nFAKE LINE\u202e' };
    await store.createIncident(incident, [{ at: T0, type: 'note', by: 'eve\u0007', text: 'ok\u001b]0;pwned\u0007' }]);
    store.close();
    // Act
    const list = await runAcgsOps(['incident', 'list', '--state', state]);
    const show = await runAcgsOps(['incident', 'show', incident.id, '--state', state]);
    // Assess
    expect([list.code, show.code]).toEqual([0, 0]);
    for (const out of [list.stdout, show.stdout]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that none reaches the terminal.
      expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(out).toContain('db down\\x1b[2J\\nFAKE LINE\\u202e');
    }
    expect(show.stdout).toContain('note by eve\\x07: ok\\x1b]0;pwned\\x07');
  });
});
