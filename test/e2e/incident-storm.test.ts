import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type DaemonProcess,
  openStateStore,
  readHeartbeat,
  readPages,
  startDaemon,
  waitUntil,
} from '../support/daemon-process.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { SHIPPED_CONFIG } from '../support/shipped-config.ts';

/**
 * The storm, end to end: the real `acgs-ops run` daemon with the shipped ACGS-1 config and nothing running, observed
 * as an operator would (the state DB, pages.jsonl, `acgs-ops status`).
 *
 * What is changed from the shipped config, and why: every port moves to one the kernel just handed out and nobody
 * listens on (the shipped ports may be taken on a test machine, by other tests' fleets or a real database);
 * `failuresToDown: 1`, so the first cycle, run at start, already opens what N = 3 cycles would a few minutes later;
 * remediation off and no backups (no uvicorn to start here, and an hourly backup monitor is not part of the storm);
 * pages go to the jsonl channel only, so this test reads them whatever channels the shipped file routes to.
 */

const dirs: string[] = [];
const daemons: DaemonProcess[] = [];

afterEach(async () => {
  for (const daemon of daemons.splice(0)) if (daemon.running()) await daemon.stop(10_000);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Ports nothing listens on: each one the kernel gave to a listener that is then closed. */
async function unusedPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const server = net.createServer();
    await new Promise<void>((done) => server.listen({ port: 0, host: '127.0.0.1' }, done));
    const address = server.address();
    await new Promise<void>((done) => server.close(() => done()));
    if (address && typeof address === 'object') ports.add(address.port);
  }
  return [...ports];
}

/** The shipped config, every port moved to an unused one, with the changes above. */
async function nothingRunningConfig(): Promise<string> {
  const config = parse(SHIPPED_CONFIG) as {
    services: { port: number; start: string }[];
    checks: { port?: number; url?: string }[];
    thresholds: Record<string, unknown>;
    remediation: Record<string, unknown>;
    backups?: unknown;
    schedules: Record<string, unknown>;
    notifications?: unknown;
  };
  const used = [
    ...config.services.map((s) => s.port),
    ...config.checks.flatMap((c) => (c.port ? [c.port] : c.url ? [Number(new URL(c.url).port)] : [])),
  ];
  const original = [...new Set(used)];
  const fresh = await unusedPorts(original.length);
  const moved = new Map(original.map((port, i) => [port, fresh[i] ?? port]));
  const move = (port: number) => moved.get(port) ?? port;
  for (const s of config.services) {
    s.start = s.start.replace(`--port ${s.port}`, `--port ${move(s.port)}`);
    s.port = move(s.port);
  }
  for (const c of config.checks) {
    if (c.port) c.port = move(c.port);
    if (c.url) {
      const { port } = new URL(c.url);
      c.url = c.url.replace(`:${port}`, `:${move(Number(port))}`);
    }
  }
  config.thresholds.failuresToDown = 1;
  config.remediation.enabled = false;
  delete config.backups;
  delete config.schedules.drill;
  delete config.schedules.configArchive;
  config.notifications = { channels: [{ name: 'pages-file', kind: 'jsonl', path: 'pages.jsonl' }] };
  return stringify(config);
}

describe('acgs-ops run with the shipped config and nothing running', () => {
  it('opens one incident and pages each level of its first page once in its first cycle', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'acgs-storm-'));
    dirs.push(dir);
    const configFile = join(dir, 'acgs-1.yaml');
    const stateDir = join(dir, 'state');
    await writeFile(configFile, await nothingRunningConfig());
    // Act: start the daemon; its first cycle runs at once.
    const daemon = startDaemon({
      configFile,
      stateDir,
      env: { ...process.env, ACGS_DB_PASSWORD: 'not-used-nothing-listens' },
    });
    daemons.push(daemon);
    const beat = await waitUntil(
      async () => {
        if (!daemon.running()) throw new Error(`daemon exited:\n${daemon.output()}`);
        const heartbeat = await readHeartbeat(stateDir);
        return heartbeat?.pid === daemon.pid && heartbeat.cycles >= 1 ? heartbeat : undefined;
      },
      30_000,
      'the first probe cycle',
      { explain: () => daemon.output() },
    );
    // Pages are delivered within the cycle; stop the daemon so that everything it holds is written.
    const exit = await daemon.stop(15_000);
    // Assess
    expect(exit).toEqual({ code: 0, signal: null });
    expect([beat.targets, beat.healthy, beat.openIncidents]).toEqual([17, 0, 1]);
    const store = openStateStore(stateDir);
    try {
      const incidents = await store.listIncidents({ limit: 100 });
      expect(incidents.map((i) => [i.kind, i.severity, i.title])).toEqual([
        [
          'fleet-outage',
          'P1',
          'Complete outage of acgs-1: 7 of 7 services down; postgresql, redis, opa, prometheus, grafana and haproxy down too',
        ],
      ]);
      const pages = await readPages(stateDir);
      expect(pages.map((p) => [p.incidentId, p.level, p.why])).toEqual(
        [1, 2, 3].map((level) => [incidents[0]?.id, level, 'opened']),
      );
    } finally {
      store.close();
    }
    // Every target's health is still there for the operator, suppressed or not.
    const status = await runAcgsOps(['status', '--config', configFile, '--state', stateDir, '--json']);
    const shown = JSON.parse(status.stdout) as { targets: { name: string; health: string }[] };
    expect(shown.targets.map((t) => t.health)).toEqual(shown.targets.map(() => 'down'));
    expect(shown.targets).toHaveLength(17);
  }, 60_000);
});
