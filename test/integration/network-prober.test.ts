import { afterEach, describe, expect, it } from 'vitest';
import { MemorySecretSource } from '../../lambdas/adapters/memory/memory-secret-source.ts';
import type { Target } from '../../lambdas/core/targets.ts';
import type { Clock } from '../../lambdas/ports.ts';
import { MAX_BODY_BYTES } from '../../lambdas/probes/http-prober.ts';
import { NetworkProber } from '../../lambdas/probes/network-prober.ts';
import { runProbes } from '../../lambdas/probes/run-probes.ts';
import {
  freePort,
  type LocalServer,
  startFakePrometheus,
  startHttpHandler,
  startHttpServer,
  startSilentServer,
} from '../support/local-servers.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const clock: Clock = { now: () => NOW };
const OPTIONS = { timeoutMs: 400, slowAfterMs: 200 };
const base = { host: '127.0.0.1', critical: false, role: 'dependency' as const };

const http = (name: string, url: string): Target => ({ ...base, id: `${name}:http@h`, name, kind: 'http', url });
const postgres = (name: string, port: number): Target => ({
  ...base,
  id: `${name}:postgres@h`,
  name,
  kind: 'postgres',
  port,
  database: 'db',
  user: 'probe',
  query: 'SELECT 1',
});
const redis = (name: string, port: number): Target => ({ ...base, id: `${name}:redis@h`, name, kind: 'redis', port });

const started: LocalServer[] = [];
async function server<T extends LocalServer>(starting: Promise<T>): Promise<T> {
  const s = await starting;
  started.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe('NetworkProber', () => {
  it.each([
    ['http', (port: number) => http('half-open-http', `http://127.0.0.1:${port}/health`)],
    ['postgres', (port: number) => postgres('stuck-postgres', port)],
    ['redis', (port: number) => redis('mute-redis', port)],
  ])('costs one timeout and closes its socket when a %s peer accepts and never answers', async (_kind, target) => {
    // Prepare
    const silent = await server(startSilentServer());
    const prober = new NetworkProber(clock, new MemorySecretSource());
    const startedAt = performance.now();
    // Act
    const result = await prober.probe(target(silent.port), OPTIONS);
    const elapsed = performance.now() - startedAt;
    await silent.allSocketsClosed();
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'timeout', latencyMs: 400, checkedAt: NOW });
    expect(elapsed).toBeGreaterThanOrEqual(399);
    expect(elapsed).toBeLessThan(400 + 300);
    expect(silent.openSockets.size).toBe(0);
  });

  it('reads no more than 64 KiB and answers without waiting for the end of an endless body', async () => {
    // Prepare
    let bytesSent = 0;
    const endless = await server(
      startHttpHandler((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'a');
        const pump = () => {
          while (bytesSent < 8 * MAX_BODY_BYTES && response.write(chunk)) bytesSent += chunk.length;
        };
        response.on('drain', pump);
        pump();
      }),
    );
    // The response never ends: a prober that waited for its end would answer 'timeout'. Latency is not what this
    // test is about, so a loaded machine must not turn the answer into 'degraded: latency'.
    const generous = { timeoutMs: 5_000, slowAfterMs: 5_000 };
    // Act
    const result = await new NetworkProber(clock, new MemorySecretSource()).probe(
      http('big', `http://127.0.0.1:${endless.port}/`),
      generous,
    );
    await endless.allSocketsClosed();
    // Assess
    expect(result).toMatchObject({ status: 'healthy', reason: 'ok', httpStatus: 200 });
  });

  it('says refused when nothing listens on the port', async () => {
    // Prepare
    const port = await freePort();
    // Act
    const result = await new NetworkProber(clock, new MemorySecretSource()).probe(redis('gone', port), OPTIONS);
    // Assess
    expect(result).toMatchObject({
      status: 'unhealthy',
      reason: 'refused',
      detail: `connection to 127.0.0.1:${port} refused (nothing is listening)`,
    });
  });

  it('says tls when an https target answers in plain HTTP', async () => {
    // Prepare
    const plain = await server(startHttpServer({ body: { status: 'healthy' } }));
    // Act
    const result = await new NetworkProber(clock, new MemorySecretSource()).probe(
      http('tls', `https://127.0.0.1:${plain.port}/health`),
      OPTIONS,
    );
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'tls' });
    expect(result.detail).toMatch(/^TLS with 127\.0\.0\.1:\d+ failed: /);
  });

  it('says body-mismatch when a redis target turns out to be an HTTP server', async () => {
    // Prepare
    const web = await server(startHttpServer({ body: 'hello' }));
    // Act
    const result = await new NetworkProber(clock, new MemorySecretSource()).probe(
      redis('not-redis', web.port),
      OPTIONS,
    );
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'body-mismatch' });
    expect(result.detail).toContain('instead of +PONG');
  });

  it('reads a scalar answer and a +Inf sample from Prometheus', async () => {
    // Prepare
    const answers: Record<string, unknown> = {
      scalar: { resultType: 'scalar', result: [1_767_225_600, '42'] },
      infinite: { resultType: 'vector', result: [{ metric: {}, value: [1_767_225_600, '+Inf'] }] },
    };
    const prom = await server(
      startHttpHandler((request, response) => {
        const query = new URL(request.url ?? '/', 'http://x').searchParams.get('query') ?? '';
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'success', data: answers[query] }));
      }),
    );
    const metric = (name: string): Target => ({
      ...base,
      id: `${name}:cpuPercent@h`,
      name,
      kind: 'prometheus',
      role: 'metric',
      url: `http://127.0.0.1:${prom.port}/`,
      query: name,
      signal: 'cpuPercent',
      max: 80,
    });
    const prober = new NetworkProber(clock, new MemorySecretSource());
    // Act
    const scalar = await prober.probe(metric('scalar'), OPTIONS);
    const infinite = await prober.probe(metric('infinite'), OPTIONS);
    // Assess
    expect(scalar).toMatchObject({ status: 'healthy', value: 42 });
    expect(infinite).toMatchObject({ status: 'degraded', reason: 'threshold', value: Number.POSITIVE_INFINITY });
  });

  it('says body-mismatch when a Prometheus URL answers something that is not JSON', async () => {
    // Prepare
    const web = await server(startHttpServer({ body: '<html>Grafana</html>' }));
    const target: Target = {
      ...base,
      id: 'p:cpuPercent@h',
      name: 'p',
      kind: 'prometheus',
      role: 'metric',
      url: `http://127.0.0.1:${web.port}`,
      query: 'up',
      signal: 'cpuPercent',
      max: 80,
    };
    // Act
    const result = await new NetworkProber(clock, new MemorySecretSource()).probe(target, OPTIONS);
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'body-mismatch', httpStatus: 200 });
  });

  it('stops at once and frees the socket when the caller aborts', async () => {
    // Prepare
    const silent = await server(startSilentServer());
    const controller = new AbortController();
    const probing = new NetworkProber(clock, new MemorySecretSource()).probe(postgres('pg', silent.port), {
      timeoutMs: 10_000,
      slowAfterMs: 200,
      signal: controller.signal,
    });
    // Act
    controller.abort();
    const result = await probing;
    await silent.allSocketsClosed();
    // Assess
    expect(result.reason).toBe('timeout');
  });
});

describe('runProbes with the network prober', () => {
  it('finishes a mixed cycle in one timeout and leaves no socket open on any server', async () => {
    // Prepare
    const silent = await server(startSilentServer());
    const hanging = await server(startHttpServer({ hang: true }));
    const healthy = await server(startHttpServer({ body: { status: 'healthy' } }));
    const prom = await server(startFakePrometheus({ up: '1' }));
    const targets: Target[] = [
      http('ok', `http://127.0.0.1:${healthy.port}/health`),
      http('hang-1', `http://127.0.0.1:${hanging.port}/a`),
      http('hang-2', `http://127.0.0.1:${hanging.port}/b`),
      postgres('pg', silent.port),
      redis('redis', silent.port),
      {
        ...base,
        id: 'up:cpuPercent@h',
        name: 'up',
        kind: 'prometheus',
        role: 'metric',
        url: `http://127.0.0.1:${prom.port}`,
        query: 'up',
        signal: 'cpuPercent',
        max: 80,
      },
    ];
    const startedAt = performance.now();
    // Act
    const results = await runProbes(
      targets,
      new NetworkProber(clock, new MemorySecretSource()),
      { ...OPTIONS, concurrency: 8 },
      clock,
    );
    const elapsed = performance.now() - startedAt;
    await Promise.all([silent, hanging, healthy, prom].map((s) => s.allSocketsClosed()));
    // Assess
    expect(results.map((r) => [r.name, r.reason])).toEqual([
      ['ok', 'ok'],
      ['hang-1', 'timeout'],
      ['hang-2', 'timeout'],
      ['pg', 'timeout'],
      ['redis', 'timeout'],
      ['up', 'ok'],
    ]);
    expect(elapsed).toBeLessThan(OPTIONS.timeoutMs + 300);
    for (const s of [silent, hanging, healthy, prom]) expect(s.openSockets.size).toBe(0);
  });
});
