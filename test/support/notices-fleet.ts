import { stringify } from 'yaml';

/**
 * The one-service fleet the lifecycle-notice end-to-end tests run the real daemon on: probes and sweeps every
 * second, remediation off, notices retried after 200 ms doubling to 1 s (`noticeRetry`), and the test's own
 * notification channels. `escalation` and `severities` replace the defaults (one level; response times of 10m / 30m
 * / 2h) when a test needs an SLA that passes within seconds.
 */
export interface NoticesFleetOptions {
  /** Where the fleet's one service answers its health check (`/health`). */
  readonly servicePort: number;
  readonly channels: readonly unknown[];
  readonly escalation?: { readonly levels: readonly unknown[]; readonly firstPage?: unknown };
  readonly severities?: unknown;
}

export function noticesFleetConfig(options: NoticesFleetOptions): string {
  return stringify({
    version: 1,
    fleet: { name: 'notices-e2e', environment: 'test', root: '/srv/notices-e2e' },
    services: [
      {
        name: 'web',
        displayName: 'Web',
        host: '127.0.0.1',
        port: options.servicePort,
        healthPath: '/health',
        directory: 'web',
        start: './web',
        logFile: 'logs/web.log',
      },
    ],
    checks: [],
    thresholds: {
      latencyP95Ms: 2000,
      errorRatePercent: 5,
      cpuPercent: 95,
      memoryPercent: 95,
      probeLatency: '1500ms',
      probeTimeout: '2s',
      probeConcurrency: 4,
      failuresToDown: 2,
      successesToUp: 1,
      flapping: { window: '10m', enterRatio: 0.6, exitRatio: 0.3 },
    },
    schedules: {
      timeZone: 'UTC',
      probe: { every: '1s' },
      escalationSweep: { every: '1s' },
      backup: { cron: '30 1 * * *' },
      backupMonitor: { every: '1h' },
      cleanup: { cron: '0 5 * * 6' },
    },
    severities: options.severities ?? {
      P1: { label: 'critical', responseTime: '10m', ackTimeout: '20m' },
      P2: { label: 'high', responseTime: '30m', ackTimeout: '1h' },
      P3: { label: 'medium', responseTime: '2h', ackTimeout: '4h' },
    },
    escalation: {
      levels: options.escalation?.levels ?? [
        {
          level: 1,
          name: 'On-call',
          responseTime: { P1: '10m', P2: '30m', P3: '2h' },
          contacts: [{ name: 'On-call', role: 'primary', email: 'oncall@notices.example' }],
        },
      ],
      firstPage: options.escalation?.firstPage ?? {
        P1: { throughLevel: 1 },
        P2: { throughLevel: 1 },
        P3: { throughLevel: 1 },
      },
      repeatEvery: '1h',
    },
    notifications: {
      acknowledgeHint: 'acgs-ops incident ack {id}',
      noticeRetry: { backoff: '200ms', maxBackoff: '1s', attempts: 8 },
      channels: options.channels,
    },
    remediation: { enabled: false, restartTimeout: '1m', breaker: { maxRestarts: 1, window: '10m' } },
    recovery: { rto: '30m', rpo: '5m', serviceRestart: '1m', healthCheck: '10s' },
  });
}
