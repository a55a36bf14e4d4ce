import { SEVERITIES, type Severity } from './fleet-constants.ts';

/**
 * The runbook's response procedures (OPERATIONAL_RUNBOOKS.md, "Severity Levels" and "Alert Response Procedures"),
 * each step with the commands of this tool that carry it out. Pure data: `acgs-ops procedures` prints it and
 * `GET /procedures` serves it. Commands are argument lists after `acgs-ops`; words in capitals (ID, NAME, TEXT,
 * DURATION) are what the operator fills in. A step the control plane does by itself says so in `automatic`; a step no
 * command of this tool carries out says so in `manual` instead of pretending.
 */

export const ALERTS = ['service-down', 'slow', 'database', 'security'] as const;
export type Alert = (typeof ALERTS)[number];

export interface ProcedureStep {
  /** The runbook's step. */
  readonly text: string;
  readonly commands: readonly (readonly string[])[];
  /** What the control plane does for this step without being asked. */
  readonly automatic?: string;
  /** Why no command of this tool does it, and where it is done instead. */
  readonly manual?: string;
}

export interface Procedure {
  readonly id: `severity:${Severity}` | `alert:${Alert}`;
  readonly title: string;
  /** The runbook section it comes from. */
  readonly source: string;
  readonly steps: readonly ProcedureStep[];
}

const SEVERITY_PROCEDURES: Record<Severity, Procedure> = {
  P1: {
    id: 'severity:P1',
    title: 'CRITICAL (P1): complete system outage, security breach; respond within 15 minutes',
    source: 'Incident Response > Severity Levels > CRITICAL (P1)',
    steps: [
      {
        text: 'Acknowledge incident',
        commands: [
          ['incident', 'list'],
          ['incident', 'ack', 'ID'],
        ],
      },
      { text: 'Assess impact and scope', commands: [['status'], ['incident', 'show', 'ID']] },
      {
        text: 'Implement immediate mitigation',
        commands: [
          ['service', 'restart', 'NAME'],
          ['service', 'isolate', 'NAME'],
        ],
      },
      {
        text: 'Escalate to architecture team',
        commands: [['incident', 'show', 'ID']],
        automatic: "a P1's first page goes to levels 1-3 (Operations, Engineering, Architecture) at once",
      },
      { text: 'Communicate to stakeholders', commands: [['incident', 'note', 'ID', '--note', 'TEXT']] },
    ],
  },
  P2: {
    id: 'severity:P2',
    title: 'HIGH (P2): service degradation, partial outage; respond within 1 hour',
    source: 'Incident Response > Severity Levels > HIGH (P2)',
    steps: [
      {
        text: 'Investigate root cause',
        commands: [
          ['incident', 'show', 'ID'],
          ['service', 'diagnostics', 'NAME'],
        ],
      },
      { text: 'Implement workaround if possible', commands: [['service', 'restart', 'NAME']] },
      {
        text: 'Plan permanent fix',
        commands: [['incident', 'note', 'ID', '--note', 'TEXT']],
      },
      { text: 'Monitor system stability', commands: [['status'], ['health']] },
    ],
  },
  P3: {
    id: 'severity:P3',
    title: 'MEDIUM (P3): performance issues, non-critical failures; respond within 4 hours',
    source: 'Incident Response > Severity Levels > MEDIUM (P3)',
    steps: [
      { text: 'Schedule investigation', commands: [['incident', 'ack', 'ID', '--note', 'TEXT']] },
      {
        text: 'Implement fix during maintenance window',
        commands: [
          ['maintenance', 'start', '--for', 'DURATION', '--reason', 'TEXT', '--service', 'NAME'],
          ['service', 'rolling-update', 'NAME'],
          ['maintenance', 'end', 'ID'],
        ],
      },
      {
        text: 'Update monitoring if needed',
        commands: [['health']],
        manual: 'checks and thresholds live in the fleet config (config/acgs-1.yaml); health shows what they see',
      },
    ],
  },
};

const ALERT_PROCEDURES: Record<Alert, Procedure> = {
  'service-down': {
    id: 'alert:service-down',
    title: 'Service Down Alert',
    source: 'Monitoring & Alerting > Alert Response Procedures > Service Down Alert',
    steps: [
      { text: 'Immediate: check service status via health endpoint', commands: [['health'], ['status']] },
      { text: 'Investigate: review service logs for errors', commands: [['service', 'diagnostics', 'NAME']] },
      {
        text: 'Action: restart service if needed',
        commands: [['service', 'restart', 'NAME']],
        automatic: 'the control plane restarts a down service itself (remediation), up to its restart breaker',
      },
      { text: 'Validate: confirm service recovery', commands: [['health'], ['incident', 'show', 'ID']] },
      {
        text: 'Document: log incident and resolution',
        commands: [
          ['incident', 'resolve', 'ID', '--reason', 'TEXT'],
          ['incident', 'report', 'ID'],
        ],
        automatic: 'a recovered service resolves its incident, and every resolution writes the incident report',
      },
    ],
  },
  slow: {
    id: 'alert:slow',
    title: 'High Response Time Alert',
    source: 'Monitoring & Alerting > Alert Response Procedures > High Response Time Alert',
    steps: [
      { text: 'Check: system resource utilization', commands: [['health']] },
      {
        text: 'Investigate: database and cache performance',
        commands: [['health'], ['service', 'diagnostics', 'NAME']],
      },
      {
        text: 'Action: scale resources or optimize queries',
        commands: [['maintenance', 'start', '--for', 'DURATION', '--reason', 'TEXT', '--service', 'NAME']],
        manual: 'scaling and query changes are made on the hosts; open a maintenance window for them first',
      },
      { text: 'Monitor: track improvement in metrics', commands: [['health'], ['status']] },
      {
        text: 'Follow-up: implement permanent optimizations',
        commands: [['incident', 'note', 'ID', '--note', 'TEXT']],
      },
    ],
  },
  database: {
    id: 'alert:database',
    title: 'Database Connection Issues',
    source: 'Incident Response > Common Issues & Solutions > Database Connection Issues',
    steps: [
      { text: 'Check PostgreSQL status', commands: [['health']] },
      {
        text: 'Check database logs',
        commands: [],
        manual: "the database's own log is read on its host (docker logs, journalctl); this tool does not fetch it",
      },
      { text: 'Test connection', commands: [['health']] },
      {
        text: 'Restart if needed',
        commands: [],
        manual: 'PostgreSQL is not a service this tool starts or stops; restart it on its host',
      },
      {
        text: 'Check the backups (Recovery Procedure)',
        commands: [
          ['backup', 'status'],
          ['backup', 'list'],
        ],
      },
    ],
  },
  security: {
    id: 'alert:security',
    title: 'Security Alert',
    source: 'Monitoring & Alerting > Alert Response Procedures > Security Alert',
    steps: [
      {
        text: 'Immediate: isolate affected systems',
        commands: [
          ['incident', 'declare', '--type', 'security', '--title', 'TEXT', '--service', 'NAME'],
          ['service', 'isolate', 'NAME'],
        ],
        automatic: 'declaring the security incident isolates its services, ticks isolate and pages the Executive level',
      },
      {
        text: 'Assess: determine scope and impact',
        commands: [['incident', 'check', 'ID', 'assess', '--note', 'TEXT']],
      },
      {
        text: 'Contain: implement security measures',
        commands: [['incident', 'check', 'ID', 'contain', '--note', 'TEXT']],
      },
      {
        text: 'Investigate: analyze attack vectors',
        commands: [
          ['service', 'diagnostics', 'NAME'],
          ['incident', 'check', 'ID', 'investigate', '--note', 'TEXT'],
        ],
      },
      {
        text: 'Recover: restore services securely',
        commands: [
          ['service', 'release', 'NAME'],
          ['incident', 'check', 'ID', 'recover'],
        ],
      },
      {
        text: 'Report: document security incident',
        commands: [
          ['incident', 'report', 'ID'],
          ['incident', 'check', 'ID', 'report'],
          ['incident', 'resolve', 'ID', '--reason', 'TEXT'],
        ],
      },
    ],
  },
};

export interface ProcedureFilter {
  readonly severity?: Severity | undefined;
  readonly alert?: Alert | undefined;
}

/** The procedures for a situation: the severity's, then the alert's; every one when neither is given. */
export function proceduresFor(filter: ProcedureFilter = {}): Procedure[] {
  if (filter.severity === undefined && filter.alert === undefined)
    return [...SEVERITIES.map((s) => SEVERITY_PROCEDURES[s]), ...ALERTS.map((a) => ALERT_PROCEDURES[a])];
  return [
    ...(filter.severity === undefined ? [] : [SEVERITY_PROCEDURES[filter.severity]]),
    ...(filter.alert === undefined ? [] : [ALERT_PROCEDURES[filter.alert]]),
  ];
}

/** A command as the operator types it. */
export function commandLine(command: readonly string[]): string {
  return ['acgs-ops', ...command].map((w) => (/[\s"'$`\\]/.test(w) ? JSON.stringify(w) : w)).join(' ');
}

/** The procedures as text: a heading per procedure, its numbered steps, each command on its own line. */
export function formatProcedures(procedures: readonly Procedure[]): string {
  const lines: string[] = [];
  for (const p of procedures) {
    lines.push(`${p.title}`, `  (runbook: ${p.source})`);
    p.steps.forEach((step, i) => {
      lines.push(`  ${i + 1}. ${step.text}`);
      for (const command of step.commands) lines.push(`       $ ${commandLine(command)}`);
      if (step.automatic) lines.push(`       automatic: ${step.automatic}`);
      if (step.manual) lines.push(`       by hand: ${step.manual}`);
    });
    lines.push('');
  }
  return lines.join('\n');
}
