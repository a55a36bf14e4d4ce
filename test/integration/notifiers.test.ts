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
import type { NoticeMessage } from '../../lambdas/core/notices.ts';
import type { Notification } from '../../lambdas/ports.ts';
import { MINUTE, T0 } from '../support/harness.ts';
import { openedIncident, serviceDownReport } from '../support/incident-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'acgs-notify-'));
const hooks: { status: number; bodies: unknown[]; headers: Record<string, unknown>[] } = {
  status: 200,
  bodies: [],
  headers: [],
};
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
      hooks.headers.push(req.headers);
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

/** The resolve notice of the auth incident: resolved by alice 42 minutes after the failure started. */
function resolvedNotice(): NoticeMessage {
  const n = notification();
  const incident = {
    ...n.incident,
    status: 'resolved' as const,
    resolvedAt: T0 + 42 * MINUTE,
    resolvedBy: 'alice',
    resolution: 'restarted by hand',
  };
  return {
    key: `${incident.id}/resolved-${T0 + 42 * MINUTE}-3-0`,
    notice: {
      key: `resolved-${T0 + 42 * MINUTE}-3-0`,
      kind: 'resolved',
      at: T0 + 42 * MINUTE,
      by: 'alice',
      text: 'restarted by hand',
      done: [],
      attempts: 0,
      nextAt: T0 + 42 * MINUTE,
    },
    incident,
    recent: n.recent,
  };
}

describe('lifecycle notices through the channels', () => {
  it('routes notices by each channel’s events and never pages a stakeholder channel (pages: false)', async () => {
    const printed: string[] = [];
    const file = join(dir, 'updates.jsonl');
    const notifier = new RoutingNotifier(
      channelsFromConfig(
        [
          { name: 'console', kind: 'console', pages: true, events: ['opened', 'resolved'] },
          { name: 'stakeholders', kind: 'jsonl', path: 'updates.jsonl', pages: false, events: ['resolved', 'update'] },
        ],
        dir,
        {},
        (t) => printed.push(t),
      ),
      OPTIONS,
      () => {},
    );
    expect(notifier.noticeChannels('resolved')).toEqual(['console', 'stakeholders']);
    expect(notifier.noticeChannels('update')).toEqual(['stakeholders']);
    expect(notifier.noticeChannels('escalated')).toEqual([]);
    // A page: only the console
    await notifier.notify(notification());
    expect(() => readFileSync(file, 'utf8')).toThrow(/ENOENT/);
    // A notice, each channel on its own
    const message = resolvedNotice();
    await notifier.sendNotice('stakeholders', message);
    await notifier.sendNotice('console', message);
    const line = JSON.parse(readFileSync(file, 'utf8').trim());
    expect(line).toMatchObject({
      kind: 'acgs-ops.notice',
      key: message.key,
      event: 'resolved',
      by: 'alice',
      incident: {
        id: message.incident?.id,
        title: 'auth is down',
        severity: 'P2',
        mttr: '42m',
        resolution: 'restarted by hand',
      },
    });
    const text = printed.join('');
    expect(text).toContain(`NOTICE  Incident resolved: acgs-1: [P2] auth is down (${message.incident?.id})`);
    expect(text).toContain('Time to resolve: 42m');
    await expect(notifier.sendNotice('pager', message)).rejects.toThrow(/no notification channel named pager/);
  });

  it('pages only the channel named by onlyChannel, and names a channel that does not exist', async () => {
    const notifier = new RoutingNotifier(
      [new JsonLinesChannel('a', join(dir, 'only-a.jsonl')), new JsonLinesChannel('b', join(dir, 'only-b.jsonl'))],
      OPTIONS,
      () => {},
    );
    await notifier.notify({ ...notification(), onlyChannel: 'b' });
    expect(() => readFileSync(join(dir, 'only-a.jsonl'), 'utf8')).toThrow(/ENOENT/);
    expect(readFileSync(join(dir, 'only-b.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    await expect(notifier.notify({ ...notification(), onlyChannel: 'slack' })).rejects.toThrow(
      /no notification channel named slack \(channels: a, b\)/,
    );
  });

  it('posts a notice to a webhook with its key in the body and as Idempotency-Key, the same on a retry', async () => {
    hooks.status = 503;
    hooks.bodies.length = 0;
    hooks.headers.length = 0;
    const notifier = new RoutingNotifier([new WebhookChannel('hook', webhookUrl, 2_000, 'sekret')], OPTIONS, () => {});
    const message = resolvedNotice();
    await expect(notifier.sendNotice('hook', message)).rejects.toThrow(/HTTP 503/);
    hooks.status = 200;
    await notifier.sendNotice('hook', message);
    expect(hooks.headers.map((h) => h['idempotency-key'])).toEqual([message.key, message.key]);
    expect(hooks.headers[1]?.authorization).toBe('Bearer sekret');
    expect(hooks.bodies[1]).toMatchObject({ kind: 'acgs-ops.notice', key: message.key, event: 'resolved' });
    expect(String((hooks.bodies[1] as { subject: string }).subject)).toContain('Incident resolved');
  });

  it('mails a notice to the channel’s to list, else the level-1 contacts, with a Message-ID from its key', async () => {
    mails.length = 0;
    const options = { host: '127.0.0.1', port: smtpPort, secure: false };
    const listed = new SmtpChannel('mail', 'acgs-ops@acgs.example', { ...options, to: ['status@acgs.example'] });
    const contacts = new SmtpChannel('mail2', 'acgs-ops@acgs.example', options);
    const notifier = new RoutingNotifier([listed, contacts], OPTIONS, () => {});
    const message = resolvedNotice();
    await notifier.sendNotice('mail', message);
    await notifier.sendNotice('mail', message);
    await notifier.sendNotice('mail2', message);
    expect(mails[0]?.to).toEqual(['status@acgs.example']);
    const levelOne = message.incident?.escalation.policy.levels[0]?.contacts.flatMap((c) => (c.email ? [c.email] : []));
    expect(levelOne?.length).toBeGreaterThan(0);
    expect(mails[2]?.to).toEqual(levelOne);
    const ids = mails.map((m) => /^Message-ID: (.*)$/im.exec(m.data)?.[1]?.trim());
    expect(ids[0]).toBe(`<${message.key}@acgs.example>`);
    expect(new Set(ids).size).toBe(1);
  });
});
