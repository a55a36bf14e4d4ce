import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DaemonProcess,
  openStateStore,
  readHeartbeat,
  startDaemon,
  waitUntil,
} from '../support/daemon-process.ts';
import { noticesFleetConfig } from '../support/notices-fleet.ts';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * Lifecycle notices end to end: the real `acgs-ops run` daemon delivers an incident's notices (opened, acknowledged,
 * update, resolved; the operator acts through the real CLI) to a local HTTP webhook sink that fails the first two
 * requests of every notice. Each notice is accepted exactly once per Idempotency-Key; a daemon killed with -9 while
 * the sink holds a notice's request open redelivers it after a restart with the same key, and none is lost.
 */

const E2E_TIMEOUT_MS = 120_000;
/** The webhook's timeout: a held request is cut after this; the notice's lease is this plus a margin. */
const HOOK_TIMEOUT = '3s';

interface SinkRequest {
  readonly key: string;
  readonly event: string;
  /** 503: failed on purpose; 200: accepted; 'held': never answered (the daemon was killed meanwhile). */
  outcome: 503 | 200 | 'held';
  readonly pid: string;
}

/** A webhook sink and the fleet's one service's health endpoint, on one port. */
class Sink {
  readonly requests: SinkRequest[] = [];
  /** Events whose third request is held open (never answered) instead of accepted. */
  readonly holdThird = new Set<string>();
  private readonly server: http.Server;
  private held: http.ServerResponse[] = [];
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { key: string; event: string };
        const key = String(req.headers['idempotency-key'] ?? '');
        if (key !== parsed.key) throw new Error(`Idempotency-Key ${key} is not the body's key ${parsed.key}`);
        const before = this.requests.filter((r) => r.key === key).length;
        const request: SinkRequest = {
          key,
          event: parsed.event,
          outcome: 503,
          pid: String(req.headers['x-pid'] ?? ''),
        };
        this.requests.push(request);
        if (before < 2) {
          res.writeHead(503).end('try again');
        } else if (before === 2 && this.holdThird.has(parsed.event)) {
          request.outcome = 'held';
          this.held.push(res);
        } else {
          request.outcome = 200;
          res.writeHead(200).end('{}');
        }
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  accepted(): SinkRequest[] {
    return this.requests.filter((r) => r.outcome === 200);
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function config(sinkPort: number): string {
  return noticesFleetConfig({
    servicePort: sinkPort,
    channels: [
      { name: 'pages-file', kind: 'jsonl', path: 'pages.jsonl' },
      {
        name: 'stakeholder-hook',
        kind: 'webhook',
        url: `http://127.0.0.1:${sinkPort}/hook`,
        timeout: HOOK_TIMEOUT,
        pages: false,
        events: ['opened', 'acknowledged', 'update', 'resolved'],
      },
    ],
  });
}

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('lifecycle notices through the real daemon to a webhook', () => {
  it(
    'delivers open, ack, note and resolve once per key through failures and a kill -9 mid-delivery',
    async () => {
      // Prepare: the sink, a config routing the lifecycle to it, the daemon
      const sink = new Sink();
      await sink.start();
      cleanups.push(() => sink.close());
      const dir = await mkdtemp(join(tmpdir(), 'acgs-notices-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const configFile = join(dir, 'notices.yaml');
      const stateDir = join(dir, 'state');
      await writeFile(configFile, config(sink.port));
      const daemons: DaemonProcess[] = [];
      cleanups.push(async () => {
        for (const d of daemons) if (d.running()) await d.kill9();
      });
      const start = () => {
        const daemon = startDaemon({ configFile, stateDir });
        daemons.push(daemon);
        return daemon;
      };
      const cli = async (...args: string[]) => {
        const run = await runAcgsOps([...args, '--config', configFile, '--state', stateDir, '--by', 'alice'], {
          killAfterMs: 30_000,
        });
        if (run.code !== 0) throw new Error(`acgs-ops ${args.join(' ')} failed: ${run.stderr}`);
        return run.stdout;
      };
      const explain = () =>
        `sink: ${JSON.stringify(sink.requests)}\n${daemons.map((d) => d.output().slice(-4_000)).join('\n---\n')}`;
      const acceptedEvent = (event: string) =>
        waitUntil(() => sink.accepted().find((r) => r.event === event), 30_000, `${event} accepted`, { explain });
      let daemon = start();
      const running = async () => {
        const beat = await readHeartbeat(stateDir);
        if (!daemon.running()) throw new Error(`the daemon exited:\n${daemon.output()}`);
        return beat !== undefined && beat.pid === daemon.pid;
      };
      await waitUntil(running, 30_000, 'the daemon running', { explain });

      // Act 1: open, acknowledge, note, each through two failures
      await cli('incident', 'declare', '--type', 'manual', '--severity', 'P3', '--title', 'checkout is slow');
      const store = openStateStore(stateDir);
      cleanups.push(async () => store.close());
      const [incident] = await store.listIncidents({});
      if (!incident) throw new Error('no incident declared');
      await acceptedEvent('opened');
      await cli('incident', 'ack', incident.id);
      await acceptedEvent('acknowledged');
      await cli('incident', 'note', incident.id, '--note', 'a bad deploy: rolling back');
      await acceptedEvent('update');

      // Act 2: the resolve's third request is held open; the daemon is killed while it waits
      sink.holdThird.add('resolved');
      await cli('incident', 'resolve', incident.id, '--reason', 'rolled back');
      const held = await waitUntil(() => sink.requests.find((r) => r.outcome === 'held'), 30_000, 'resolve held', {
        explain,
      });
      await daemon.kill9();
      sink.holdThird.clear();
      const killedAt = Date.now();
      daemon = start();
      const redelivered = await acceptedEvent('resolved');
      const restartToRedelivery = Date.now() - killedAt;
      // A few more cycles in which nothing may be sent again
      const quiet = sink.requests.length;
      await waitUntil(
        async () => (await store.getIncident(incident.id))?.notices === undefined,
        20_000,
        'no notice owed',
        {
          explain,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      // Assess: every notice accepted exactly once per key, after exactly two failures; none lost
      const keys = [...new Set(sink.requests.map((r) => r.key))];
      expect(sink.accepted().map((r) => r.event)).toEqual(['opened', 'acknowledged', 'update', 'resolved']);
      expect(keys).toHaveLength(4);
      for (const key of keys) {
        expect(keys.filter((k) => k === key)).toHaveLength(1);
        expect(sink.accepted().filter((r) => r.key === key)).toHaveLength(1);
        expect(key.startsWith(`${incident.id}/`)).toBe(true);
      }
      for (const key of keys.slice(0, 3))
        expect(sink.requests.filter((r) => r.key === key).map((r) => r.outcome)).toEqual([503, 503, 200]);
      expect(redelivered.key).toBe(held.key);
      expect(sink.requests.filter((r) => r.key === held.key).map((r) => r.outcome)).toEqual([503, 503, 'held', 200]);
      expect(sink.requests.length).toBe(quiet);
      const timeline = await store.getTimeline(incident.id);
      expect(timeline.filter((e) => e.type === 'note' && e.by === 'control-plane')).toEqual([]);
      process.stdout.write(
        `notices e2e: ${sink.requests.length} requests for 4 notices; resolve redelivered ${restartToRedelivery} ms after the kill -9\n`,
      );
    },
    E2E_TIMEOUT_MS,
  );
});
