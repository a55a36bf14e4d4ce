import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deadMansSwitchUrl, HttpDeadMansSwitch } from '../../lambdas/adapters/http/dead-mans-switch.ts';
import { cycleFailed, cycleSucceeded } from '../../lambdas/core/dead-mans-switch.ts';
import type { SecretSource } from '../../lambdas/ports.ts';

/** HttpDeadMansSwitch against a real HTTP server on 127.0.0.1 standing in for Healthchecks.io. */

interface Received {
  readonly path: string;
  readonly body: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server answering each ping with `status` after `delayMs` (never, when null). */
async function pingServer(status: number, delayMs: number | null = 0) {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      if (delayMs !== null)
        setTimeout(() => {
          response.statusCode = status;
          response.end('OK');
        }, delayMs);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping/secret-uuid`, received };
}

function recorder() {
  const logged: { event: string; fields: Record<string, unknown> }[] = [];
  return { logged, log: (event: string, fields: Record<string, unknown>) => logged.push({ event, fields }) };
}

const OK = cycleSucceeded({ targets: 3, healthy: 3, openIncidents: 0, durationMs: 12 });

describe('HttpDeadMansSwitch', () => {
  it('POSTs the success line to the URL and the reason to <url>/fail', async () => {
    // Prepare
    const server = await pingServer(200);
    const { logged, log } = recorder();
    const dms = new HttpDeadMansSwitch(async () => server.url, { timeoutMs: 2_000, log });
    // Act
    const sent = [await dms.ping(OK), await dms.ping(cycleFailed('EISDIR: heartbeat.json'))];
    // Assess
    expect(sent).toEqual([true, true]);
    expect(server.received).toEqual([
      { path: '/ping/secret-uuid', body: 'probe cycle done: 3/3 targets healthy, 0 open incident(s), took 12 ms' },
      { path: '/ping/secret-uuid/fail', body: 'probe cycle failed: EISDIR: heartbeat.json' },
    ]);
    expect(logged).toEqual([]);
  });

  it('gives up after its timeout when the service does not answer, logs it without the URL, and never throws', async () => {
    // Prepare
    const server = await pingServer(200, null);
    const { logged, log } = recorder();
    const dms = new HttpDeadMansSwitch(async () => server.url, { timeoutMs: 300, log });
    // Act
    const started = Date.now();
    const sent = await dms.ping(OK);
    // Assess
    expect(sent).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(logged).toEqual([
      {
        event: 'dead-mans-switch-ping-failed',
        fields: expect.objectContaining({ ping: 'success', error: expect.stringMatching(/timeout|aborted/i) }),
      },
    ]);
    expect(JSON.stringify(logged)).not.toContain('secret-uuid');
  });

  it('reports an answer other than 2xx and a refused connection as failed pings', async () => {
    const server = await pingServer(404);
    const { logged, log } = recorder();
    expect(await new HttpDeadMansSwitch(async () => server.url, { timeoutMs: 2_000, log }).ping(OK)).toBe(false);
    // A port nothing listens on any more.
    const gone = http.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    const closed = new HttpDeadMansSwitch(async () => `http://127.0.0.1:${port}/ping/x`, { timeoutMs: 2_000, log });
    expect(await closed.ping(OK)).toBe(false);
    expect(logged.map((l) => l.fields.error)).toEqual(['HTTP 404', expect.stringMatching(/ECONNREFUSED/)]);
  });

  it('sends reports in order, one at a time, a newer one replacing one not sent yet', async () => {
    // Prepare: each ping takes 200 ms to answer
    const server = await pingServer(200, 200);
    const { log } = recorder();
    const dms = new HttpDeadMansSwitch(async () => server.url, { timeoutMs: 2_000, log });
    // Act: three cycles' outcomes while the first is in flight
    const first = dms.report(cycleFailed('one'));
    void dms.report(cycleFailed('two'));
    const last = dms.report(cycleFailed('three'));
    await Promise.all([first, last]);
    // Assess
    expect(server.received.map((r) => r.body)).toEqual(['probe cycle failed: one', 'probe cycle failed: three']);
    // A later report starts a new round.
    await dms.report(OK);
    expect(server.received).toHaveLength(3);
  });
});

describe('deadMansSwitchUrl', () => {
  const source = (values: Record<string, string>): SecretSource => ({
    get: async (request) =>
      request.env ? values[request.env] : request.secret ? values[request.secret.id] : undefined,
  });

  it('reads the URL from the variable or the secret, trimmed', async () => {
    const url = 'https://hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
    expect(await deadMansSwitchUrl({ urlEnv: 'PING', timeout: 5_000 }, source({ PING: `${url}\n` }))()).toBe(url);
    const secret = { urlSecret: { id: 'acgs-1/dms' }, timeout: 5_000 };
    expect(await deadMansSwitchUrl(secret, source({ 'acgs-1/dms': url }))()).toBe(url);
  });

  it('names the field when there is no URL there or it is not https, never the value', async () => {
    const unset = deadMansSwitchUrl({ urlEnv: 'PING', timeout: 5_000 }, source({}));
    await expect(unset()).rejects.toThrow('deadMansSwitch.urlEnv (PING): no ping URL there');
    const plain = deadMansSwitchUrl({ urlEnv: 'PING', timeout: 5_000 }, source({ PING: 'http://hc-ping.com/uuid-x' }));
    await expect(plain()).rejects.toThrow(/^deadMansSwitch.urlEnv \(PING\): the ping URL must be an https:\/\/ URL/);
    await expect(plain()).rejects.not.toThrow(/uuid-x/);
  });

  it('logs a ping it cannot make for want of a URL, and does not throw', async () => {
    const { logged, log } = recorder();
    const dms = new HttpDeadMansSwitch(deadMansSwitchUrl({ urlEnv: 'PING', timeout: 5_000 }, source({})), {
      timeoutMs: 1_000,
      log,
    });
    expect(await dms.ping(OK)).toBe(false);
    expect(logged[0]?.fields.error).toMatch(/deadMansSwitch.urlEnv \(PING\): no ping URL there/);
  });
});
