import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  channelsFromConfig,
  JsonLinesChannel,
  RoutingNotifier,
  SmtpChannel,
  WebhookChannel,
} from '../../lambdas/adapters/local/notifiers.ts';
import { sweepEscalation } from '../../lambdas/core/escalation.ts';
import type { Notification } from '../../lambdas/ports.ts';
import { MINUTE, T0 } from '../support/harness.ts';
import { openedIncident, serviceDownReport } from '../support/incident-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'acgs-notify-'));
const hooks: { status: number; bodies: unknown[] } = { status: 200, bodies: [] };
const mails: { to: string[]; data: string }[] = [];
let webhook: Server;
let smtp: SMTPServer;
let webhookUrl = '';
let smtpPort = 0;

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      hooks.bodies.push(JSON.parse(body));
      res.writeHead(hooks.status).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => {
        data += c.toString();
      });
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => webhook.close(r));
  await new Promise((r) => smtp.close(() => r(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

/** A P2 page for auth at level 1, five minutes after the failure started (T0), with one restart attempted. */
function notification(): Notification {
  const outcome = sweepEscalation(openedIncident(serviceDownReport('auth')), T0 + 5 * MINUTE, []);
  const page = outcome?.pages[0];
  if (!outcome || !page) throw new Error('expected a page');
  return {
    page,
    incident: outcome.incident,
    recent: [
      {
        at: T0,
        type: 'remediation',
        action: 'restart',
        service: 'auth',
        outcome: 'failed',
        detail: 'restart of auth failed (exit 1): port 8000 still held',
      },
    ],
  };
}

const OPTIONS = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' };

describe('notification channels', () => {
  it('writes a page that says what, where, severity, since when, what was done and how to acknowledge', async () => {
    const file = join(dir, 'pages.jsonl');
    const printed: string[] = [];
    const notifier = new RoutingNotifier(
      channelsFromConfig(
        [
          { name: 'console', kind: 'console', pages: true },
          { name: 'file', kind: 'jsonl', path: 'pages.jsonl', pages: true },
        ],
        dir,
        {},
        (t) => printed.push(t),
      ),
      OPTIONS,
      () => {},
    );
    const n = notification();
    await notifier.notify(n);
    const line = JSON.parse(readFileSync(file, 'utf8').trim());
    expect(line).toMatchObject({
      kind: 'acgs-ops.page',
      incidentId: n.incident.id,
      severity: 'P2',
      services: ['auth'],
      level: 1,
      why: 'opened',
      actions: ['restart of auth failed (exit 1): port 8000 still held'],
      acknowledge: `acgs-ops incident ack ${n.incident.id}`,
      failingSince: new Date(T0).toISOString(),
    });
    const text = printed.join('');
    expect(text).toContain('[P2] acgs-1: auth is down');
    expect(text).toContain('Where: auth on 127.0.0.1');
    expect(text).toContain('(5m ago)');
    expect(text).toContain('Done so far: restart of auth failed');
    expect(text).toContain(`Acknowledge: acgs-ops incident ack ${n.incident.id}`);
  });

  it('posts the page as JSON to a webhook and reports an HTTP error from it', async () => {
    hooks.status = 200;
    const errors: string[] = [];
    const file = new JsonLinesChannel('file', join(dir, 'w.jsonl'));
    const notifier = new RoutingNotifier(
      [new WebhookChannel('hook', webhookUrl, 2_000, 'sekret'), file],
      OPTIONS,
      (c, e) => errors.push(`${c}: ${String(e)}`),
    );
    await notifier.notify(notification());
    expect(hooks.bodies.at(-1)).toMatchObject({
      kind: 'acgs-ops.page',
      severity: 'P2',
      subject: expect.stringContaining('[P2]'),
    });
    hooks.status = 503;
    await notifier.notify(notification());
    expect(errors).toEqual(['hook: Error: webhook hook answered HTTP 503']);
  });

  it('fails the page when no channel delivered it, so the escalation step retries', async () => {
    hooks.status = 500;
    const notifier = new RoutingNotifier([new WebhookChannel('hook', webhookUrl, 2_000, undefined)], OPTIONS, () => {});
    await expect(notifier.notify(notification())).rejects.toThrow(
      /no channel delivered the page: hook: webhook hook answered HTTP 500/,
    );
  });

  it('emails the contacts of the paged level through SMTP', async () => {
    const notifier = new RoutingNotifier(
      [new SmtpChannel('mail', 'acgs-ops@acgs.example', { host: '127.0.0.1', port: smtpPort, secure: false })],
      OPTIONS,
      () => {},
    );
    await notifier.notify(notification());
    expect(mails.at(-1)?.to).toEqual(['ops-primary@acgs.example', 'infra-oncall@acgs.example']);
    expect(mails.at(-1)?.data).toMatch(/Subject: \[P2\] acgs-1: auth is down/);
  });

  it('only sends a page to the channels that carry its level', async () => {
    const file = join(dir, 'level4.jsonl');
    const notifier = new RoutingNotifier(
      [new JsonLinesChannel('exec', file, { levels: [4] }), new JsonLinesChannel('all', join(dir, 'all.jsonl'))],
      OPTIONS,
      () => {},
    );
    await notifier.notify(notification());
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });

  it('names the missing environment variable when a channel secret is not set', () => {
    expect(() =>
      channelsFromConfig(
        [
          {
            name: 'hook',
            kind: 'webhook',
            url: 'https://x.example/h',
            tokenEnv: 'OPS_HOOK_TOKEN',
            timeout: 1000,
            pages: true,
          },
        ],
        dir,
        {},
        () => {},
      ),
    ).toThrow(/channel hook needs the environment variable OPS_HOOK_TOKEN/);
  });
});
