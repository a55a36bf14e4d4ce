import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import { ACGS_SIMULATED_SERVICES, planSimulatedFleet } from '../../lambdas/demo/fleet-sim/plan.ts';
import { type DaemonProcess, readHeartbeat, startDaemon, waitUntil } from '../support/daemon-process.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { fillDisk, mountSmallDisk, unmountSmallDisk } from '../support/small-disk.ts';

/**
 * The dead man's switch and the heartbeat of the real `acgs-ops run` process: a local HTTP server stands in for
 * Healthchecks.io and records every ping; `acgs-ops status` is run as an operator would after a clean stop and after
 * a kill -9. No fleet runs: its one service is down, which is a probe cycle like any other.
 */

const PROBE_EVERY_MS = 1_000;
const E2E_TIMEOUT_MS = 60_000;
const PING_ENV = 'ACGS_E2E_PING_URL';

interface Ping {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

interface Setup {
  readonly dir: string;
  readonly configFile: string;
  readonly stateDir: string;
  readonly daemons: DaemonProcess[];
  /** The one service's port (nothing listens there unless the test serves it). */
  readonly port: number;
  mounted?: boolean;
}

const setups: Setup[] = [];
const servers: http.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const setup of setups.splice(0)) {
    for (const daemon of setup.daemons) if (daemon.running()) await daemon.kill9();
    if (setup.mounted) unmountSmallDisk(setup.stateDir);
    await rm(setup.dir, { recursive: true, force: true });
  }
});

/** A stand-in for Healthchecks.io on 127.0.0.1: records each ping and answers `status` (200 "OK" by default). */
async function pingServer(answer: () => number = () => 200): Promise<{ base: string; pings: Ping[] }> {
  const pings: Ping[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      pings.push({
        method: request.method ?? '',
        path: request.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.statusCode = answer();
      response.end('OK');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pings };
}

/** A one-service fleet (not started) whose config has a dead man's switch reading its URL from `PING_ENV`. */
async function setup(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'acgs-dms-'));
  const spec = await planSimulatedFleet({
    dir,
    watchPid: process.pid,
    services: ACGS_SIMULATED_SERVICES.filter((s) => s.name === 'auth'),
  });
  const config = parse(
    fleetConfigYaml(spec, {
      probeEvery: '1s',
      escalationSweepEvery: '1s',
      probeTimeout: '1s',
      probeLatency: '500ms',
      remediationEnabled: false,
    }),
  ) as Record<string, unknown>;
  config.deadMansSwitch = { urlEnv: PING_ENV, timeout: '2s' };
  const configFile = join(dir, 'fleet.yaml');
  await writeFile(configFile, stringify(config, { lineWidth: 0 }));
  const port = spec.services[0]?.port;
  if (port === undefined) throw new Error('no service planned');
  const created: Setup = { dir, configFile, stateDir: join(dir, 'state'), daemons: [], port };
  setups.push(created);
  return created;
}

function run(s: Setup, pingUrl: string): DaemonProcess {
  const daemon = startDaemon({
    configFile: s.configFile,
    stateDir: s.stateDir,
    env: { ...process.env, [PING_ENV]: pingUrl },
  });
  s.daemons.push(daemon);
  return daemon;
}

function status(s: Setup, json: boolean) {
  return runAcgsOps(['status', ...(json ? ['--json'] : []), '--config', s.configFile, '--state', s.stateDir], {
    killAfterMs: 30_000,
  });
}

describe("the dead man's switch of acgs-ops run", () => {
  it(
    'pings <url> after every cycle, <url>/fail with the reason when a cycle fails, and <url> again once it works',
    async () => {
      // Prepare
      const s = await setup();
      const server = await pingServer();
      const uuid = randomUUID();
      const daemon = run(s, `${server.base}/ping/${uuid}`);
      const explain = () => `${daemon.output().slice(-6_000)}\npings: ${JSON.stringify(server.pings.slice(-10))}`;
      const successes = () => server.pings.filter((p) => p.path === `/ping/${uuid}`);
      await waitUntil(() => successes().length >= 2, 20_000, 'two success pings', { explain });

      // Assess: one POST per cycle, saying what the cycle saw
      for (const ping of successes()) {
        expect(ping.method).toBe('POST');
        expect(ping.body).toMatch(/^probe cycle done: 0\/1 targets healthy, \d+ open incident\(s\), took \d+ ms$/);
      }

      // Act: the cycle's heartbeat cannot be written (a directory stands where the file goes)
      const heartbeat = join(s.stateDir, 'heartbeat.json');
      await rm(heartbeat, { force: true });
      await mkdir(join(heartbeat, 'blocker'), { recursive: true });

      // Assess: the failure is pinged to <url>/fail with its reason
      const failed = await waitUntil(
        () => server.pings.find((p) => p.path === `/ping/${uuid}/fail`),
        20_000,
        'a /fail ping',
        { explain },
      );
      expect(failed.method).toBe('POST');
      expect(failed.body).toMatch(/^probe cycle failed: .*heartbeat\.json/);

      // Act: the obstacle goes
      await rm(heartbeat, { recursive: true, force: true });
      const failedAt = server.pings.indexOf(failed);

      // Assess: success pings again
      await waitUntil(
        () => server.pings.slice(failedAt + 1).some((p) => p.path === `/ping/${uuid}`),
        20_000,
        'a success ping after the failure',
        { explain },
      );
      // The URL's secret part is never logged.
      expect(daemon.output()).not.toContain(uuid);
      expect(daemon.output()).not.toContain('dead-mans-switch-ping-failed');

      // Act: a clean stop
      const exit = await daemon.stop();
      expect(exit).toEqual({ code: 0, signal: null });

      // Assess: the heartbeat says when; status says stopped cleanly, not silent, and exits 2 (not running)
      const beat = await readHeartbeat(s.stateDir);
      expect(beat?.stoppedAt).toEqual(expect.any(String));
      const text = await status(s, false);
      expect(text.code).toBe(2);
      expect(text.stdout.split('\n')[0]).toMatch(
        new RegExp(`^daemon STOPPED cleanly at ${beat?.stoppedAt} \\(pid ${daemon.pid}, \\d+ cycles`),
      );
      const json = await status(s, true);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout).daemon).toMatchObject({
        alive: false,
        stoppedCleanly: true,
        stoppedAt: beat?.stoppedAt,
        silentSince: null,
      });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'keeps cycling when pings fail (logged, without the URL), and is silent in status after a kill -9',
    async () => {
      // Prepare: the outside service answers 500 to every ping
      const s = await setup();
      const server = await pingServer(() => 500);
      const uuid = randomUUID();
      const daemon = run(s, `${server.base}/ping/${uuid}`);
      const explain = () => daemon.output().slice(-6_000);

      // Assess: pings arrive and fail, and the cycles go on
      await waitUntil(() => server.pings.length >= 1, 20_000, 'a ping', { explain });
      await waitUntil(async () => ((await readHeartbeat(s.stateDir))?.cycles ?? 0) >= 3, 20_000, 'three cycles', {
        explain,
      });
      await waitUntil(() => daemon.output().includes('dead-mans-switch-ping-failed'), 10_000, 'the logged failure', {
        explain,
      });
      expect(daemon.output()).toContain('HTTP 500');
      expect(daemon.output()).not.toContain(uuid);
      const alive = await status(s, true);
      expect(JSON.parse(alive.stdout).daemon).toMatchObject({ alive: true, stoppedCleanly: false, silentSince: null });

      // Act: kill -9, nothing recorded
      await daemon.kill9();
      const last = await readHeartbeat(s.stateDir);
      expect(last?.stoppedAt).toBeUndefined();

      // Assess: once the heartbeat is older than three probe intervals (and a probe timeout), status calls it silent
      const silent = await waitUntil(
        async () => {
          const run = await status(s, false);
          return run.stdout.includes('SILENT') ? run : undefined;
        },
        5 * PROBE_EVERY_MS + 10_000,
        'status to call the daemon silent',
      );
      expect(silent.code).toBe(2);
      expect(silent.stdout.split('\n')[0]).toMatch(
        new RegExp(
          `^daemon SILENT since ${last?.at}: last cycle .* ago and no clean stop recorded .*killed, crashed or hung$`,
        ),
      );
      const json = JSON.parse((await status(s, true)).stdout);
      expect(json.daemon).toMatchObject({
        alive: false,
        stoppedCleanly: false,
        stoppedAt: null,
        silentSince: last?.at,
      });
      expect(JSON.parse(await readFile(join(s.stateDir, 'heartbeat.json'), 'utf8')).pid).toBe(daemon.pid);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'pings <url>/fail while the state directory takes no writes (a full disk), and <url> once it does again',
    async () => {
      // Prepare: the state directory on a small disk; the service healthy on record
      const s = await setup();
      await mkdir(s.stateDir, { recursive: true });
      mountSmallDisk(s.stateDir, '8m');
      s.mounted = true;
      const service = http.createServer((_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ status: 'healthy', service: 'auth' }));
      });
      servers.push(service);
      await new Promise<void>((resolve) => service.listen(s.port, '127.0.0.1', resolve));
      const server = await pingServer();
      const uuid = randomUUID();
      const daemon = run(s, `${server.base}/ping/${uuid}`);
      const explain = () => `${daemon.output().slice(-6_000)}\npings: ${JSON.stringify(server.pings.slice(-5))}`;
      await waitUntil(async () => (await readHeartbeat(s.stateDir))?.healthy === 1, 20_000, 'auth healthy', {
        explain,
      });
      // Empty the write-ahead log, so the next state write must grow a file; then fill the disk.
      const db = new Database(join(s.stateDir, 'state.db'));
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
      const filler = fillDisk(s.stateDir);

      // Act: the service goes down, a change the daemon cannot write
      service.closeAllConnections();
      await new Promise((resolve) => service.close(resolve));

      // Assess: the failure pinged, with why
      const failed = await waitUntil(
        () => server.pings.find((p) => p.path === `/ping/${uuid}/fail`),
        20_000,
        'a /fail ping while the disk is full',
        { explain },
      );
      expect(failed.body).toMatch(
        /^probe cycle failed: the state directory takes no writes since \S+ \(.*(SQLITE_FULL|ENOSPC|full).*\); \d+ change\(s\) held in memory/i,
      );

      // Act: space returns
      await rm(filler);
      const failedAt = server.pings.indexOf(failed);

      // Assess: success pings again
      await waitUntil(
        () => server.pings.slice(failedAt + 1).some((p) => p.path === `/ping/${uuid}`),
        20_000,
        'a success ping once the disk has room',
        { explain },
      );
      expect((await daemon.stop()).code).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});
