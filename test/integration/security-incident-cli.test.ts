import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { incidentCommand } from '../../lambdas/cli/incident-command.ts';
import { runCli } from '../../lambdas/cli/run-cli.ts';
import { systemClock } from '../../lambdas/ports.ts';
import { hostileValues, pathTraversalValues } from '../support/hostile-values.ts';
import { freePort } from '../support/local-servers.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { configDir, fleetYaml } from '../support/test-fleet.ts';

/** acgs-ops incident declare --type security, check, note and report, as an operator runs them on one host. */
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-security-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const stateDir = () => join(root, `state-${n++}`);
const ENV = { ...process.env, ACGS_DB_PASSWORD: 'x' };
/** Each run is a node process with tsx: seconds apiece on a busy two-core machine. */
const SLOW = { timeout: 180_000 };
const KILL = { env: ENV, killAfterMs: 120_000 };

async function declaredId(state: string): Promise<string> {
  const list = await runAcgsOps(['incident', 'list', '--state', state, '--json'], KILL);
  const [incident] = (JSON.parse(list.stdout) as { incidents: { id: string }[] }).incidents;
  if (!incident) throw new Error(`no incident: ${list.stderr}`);
  return incident.id;
}

describe('acgs-ops incident declare --type security', () => {
  it(
    'isolates the service through its document and ticks isolate',
    async () => {
      // Prepare: a one-service fleet on this host whose isolation markers live in a temporary directory
      const configs = await configDir();
      const hostState = join(root, `host-${n}`);
      const fleet = parse(fleetYaml({ services: [{ name: 'alpha', port: await freePort() }] })) as {
        fleet: Record<string, unknown>;
      };
      fleet.fleet.hostStateDirectory = hostState;
      fleet.fleet.root = root;
      const config = await configs.write('fleet.yaml', stringify(fleet));
      const state = stateDir();
      // Act
      const run = await runAcgsOps(
        ['incident', 'declare', '--type', 'security', '--title', 'Leaked key', '--service', 'alpha'].concat(
          '--config',
          config,
          '--state',
          state,
        ),
        KILL,
      );
      const show = await runAcgsOps(
        ['incident', 'show', await declaredId(state), '--config', config, '--state', state],
        KILL,
      );
      await configs.remove();
      // Assess
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^declared INC-\S+ \(P1 Leaked key\)/);
      expect(run.stdout).toContain('isolate alpha: succeeded');
      expect(existsSync(join(hostState, 'isolated', 'alpha'))).toBe(true);
      expect(show.stdout).toMatch(/\[x\] isolate {5}Immediate: isolate affected systems \(.* isolated alpha\)/);
      expect(show.stdout).toContain('service.isolate alpha by');
    },
    SLOW.timeout,
  );

  it(
    'ticks steps, takes notes and writes the report when resolved; report prints it as Markdown or JSON',
    async () => {
      // Prepare
      const state = stateDir();
      const declare = ['incident', 'declare', '--type', 'security', '--title', 'Token leak', '--service', 'pgc'];
      const declared = await runAcgsOps([...declare, '--no-isolate', '--state', state, '--by', 'alice'], KILL);
      const id = await declaredId(state);
      // Act
      const check = await runAcgsOps(['incident', 'check', id, 'assess', '--note', 'pgc only', '--state', state], KILL);
      const note = await runAcgsOps(['incident', 'note', id, '--note', 'rotated the token', '--state', state], KILL);
      const show = await runAcgsOps(['incident', 'show', id, '--state', state], KILL);
      const resolve = await runAcgsOps(['incident', 'resolve', id, '--reason', 'contained', '--state', state], KILL);
      const md = await runAcgsOps(['incident', 'report', id, '--state', state], KILL);
      const json = await runAcgsOps(['incident', 'report', id, '--format', 'json', '--state', state], KILL);
      // Assess
      expect([declared.code, check.code, note.code, show.code, resolve.code, md.code, json.code]).toEqual([
        0, 0, 0, 0, 0, 0, 0,
      ]);
      expect(declared.stdout).not.toContain('isolate pgc');
      expect(check.stdout).toContain(`ticked assess on ${id}`);
      expect(check.stdout).toContain('still to do: isolate, contain, investigate, recover, report');
      expect(show.stdout).toContain('[ ] isolate');
      expect(show.stdout).toMatch(/\[x\] assess {6}Assess: determine scope and impact \(.* pgc only\)/);
      expect(show.stdout).toContain('note by');
      const stored = await readFile(join(state, 'incident-reports', `${id}.md`), 'utf8');
      expect(stored).toContain(`# Incident report ${id}: Token leak`);
      expect(stored).toContain('rotated the token');
      expect(md.stdout).toContain('## Post-incident review');
      expect(JSON.parse(json.stdout)).toMatchObject({ id, status: 'resolved', services: ['pgc'] });
    },
    SLOW.timeout,
  );
});

describe('acgs-ops incident declare --type security when the isolation fails', () => {
  it(
    'exits 1 naming the service and why, with the incident open, paged and isolate unticked',
    async () => {
      // Prepare: isolation markers under /proc, where nobody (root included) can create a directory
      const configs = await configDir();
      const fleet = parse(fleetYaml({ services: [{ name: 'alpha', port: await freePort() }] })) as {
        fleet: Record<string, unknown>;
      };
      fleet.fleet.hostStateDirectory = '/proc/acgs-ops-security-test';
      fleet.fleet.root = root;
      const config = await configs.write('fleet.yaml', stringify(fleet));
      const state = stateDir();
      // Act
      const run = await runAcgsOps(
        [
          'incident',
          'declare',
          '--type',
          'security',
          '--title',
          'Leak',
          '--service',
          'alpha',
          '--config',
          config,
        ].concat('--state', state),
        KILL,
      );
      const show = await runAcgsOps(
        ['incident', 'show', await declaredId(state), '--config', config, '--state', state],
        KILL,
      );
      await configs.remove();
      // Assess
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^declared INC-\S+ \(P1 Leak\)/);
      expect(run.stderr).toMatch(/isolate alpha: failed: acgs-isolate-service: unexpected failure/);
      expect(show.stdout).toContain('[ ] isolate');
      expect(show.stdout).toContain('service.isolate alpha by');
      expect(show.stdout).toContain('paged level 1');
    },
    SLOW.timeout,
  );
});

describe('acgs-ops incident with bad security input', () => {
  it(
    'exits 64 naming the problem, before creating any state',
    async () => {
      // Prepare
      const state = stateDir();
      const security = ['incident', 'declare', '--type', 'security', '--title', 't'];
      // Act
      const runs = await Promise.all([
        runAcgsOps([...security, '--service', 'nope', '--state', state], KILL),
        runAcgsOps([...security, '--severity', 'P2', '--state', state], KILL),
        runAcgsOps(['incident', 'declare', '--type', 'manual', '--severity', 'P3', '--title', 't', '--no-isolate'], {
          ...KILL,
        }),
        runAcgsOps(['incident', 'check', 'INC-1', 'cleanup', '--state', state], KILL),
        runAcgsOps(['incident', 'check', 'INC-1', '--state', state], KILL),
        runAcgsOps(['incident', 'note', 'INC-1', '--state', state], KILL),
        runAcgsOps(['incident', 'report', 'INC-1', '--format', 'pdf', '--state', state], KILL),
      ]);
      // Assess
      expect(runs.map((r) => r.code)).toEqual([64, 64, 64, 64, 64, 64, 64]);
      expect(runs.map((r) => r.stderr.trim())).toEqual([
        expect.stringMatching(/^acgs-ops: unknown service nope \(services: auth, /),
        'acgs-ops: --severity: a security incident is P1, not "P2"',
        'acgs-ops: --no-isolate: only a security incident isolates',
        'acgs-ops: unknown checklist step "cleanup" (steps: isolate, assess, contain, investigate, recover, report)',
        'acgs-ops: check needs a step: isolate, assess, contain, investigate, recover, report (acgs-ops incident check ID STEP)',
        'acgs-ops: note needs --note TEXT (it goes on the timeline)',
        'acgs-ops: --format must be md or json, got "pdf"',
      ]);
      expect(existsSync(state)).toBe(false);
    },
    SLOW.timeout,
  );

  it('exits 64 for every hostile step, note, service and format, with the value shown escaped', async () => {
    // Prepare: the real command parser in-process (a child per value would take minutes on two cores)
    const state = stateDir();
    const marker = join(root, 'marker');
    const out: string[] = [];
    const run = (args: string[]) =>
      runCli(args, [incidentCommand], {
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
        clock: systemClock,
      });
    const steps = [...hostileValues('assess', marker), ...pathTraversalValues('assess')];
    const notes = ['x\u001b[2J', 'a\u0000b', 'x'.repeat(501)];
    const services = [...hostileValues('pgc', marker), ...pathTraversalValues('pgc')];
    // Act
    const codes = {
      steps: await Promise.all(steps.map((s) => run(['incident', 'check', 'INC-1', s, '--state', state]))),
      notes: await Promise.all(
        notes.flatMap((note) => [
          run(['incident', 'note', 'INC-1', '--note', note, '--state', state]),
          run(['incident', 'check', 'INC-1', 'assess', '--note', note, '--state', state]),
        ]),
      ),
      services: await Promise.all(
        services.map((s) =>
          run(['incident', 'declare', '--type', 'security', '--title', 't', '--service', s, '--state', state]),
        ),
      ),
      formats: await Promise.all(
        hostileValues('md', marker).map((f) => run(['incident', 'report', 'INC-1', '--format', f, '--state', state])),
      ),
    };
    // Assess
    expect(new Set(Object.values(codes).flat())).toEqual(new Set([64]));
    const errors = out.join('');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that none reaches the terminal.
    expect(errors.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f]/);
    // `-assess` is refused by the parser as an option it does not know; every other step by name.
    expect(errors.match(/unknown checklist step/g)).toHaveLength(steps.filter((s) => !s.startsWith('-')).length);
    expect(errors.match(/--note: /g)).toHaveLength(notes.length * 2);
    // Likewise `--service -pgc`: the parser takes `-pgc` for an option.
    expect(errors.match(/--service: must be a service name/g)).toHaveLength(
      services.filter((s) => !s.startsWith('-')).length,
    );
    expect(existsSync(state)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });
});
