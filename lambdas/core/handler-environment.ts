import * as z from './zod-mini.ts';

/**
 * The environment every control-plane Lambda is given by the stack, parsed once at cold start. The fleet config
 * itself is not in the environment (Lambda allows 4 KB of it): the stack parses it at synth time and bakes its JSON
 * into the bundle as the constant `__ACGS_FLEET_CONFIG_JSON__` (esbuild define; see core/baked-config.ts).
 */
export const handlerEnvironmentSchema = z.object({
  ACGS_TABLE_NAME: z.string().check(z.minLength(1)),
  ACGS_EVENT_BUS_NAME: z.string().check(z.minLength(1)),
  /** JSON object: escalation level ("1".."9") -> SNS topic ARN. */
  ACGS_TOPIC_ARNS: z.string().check(z.minLength(2)),
  /**
   * The Updates SNS topic, where lifecycle notices go (`notifications.snsEvents`); for the Lambdas that write
   * incidents. Absent: no notice is routed.
   */
  ACGS_UPDATES_TOPIC_ARN: z.optional(z.string().check(z.minLength(1))),
  /** JSON object: document name in ssm-documents/ -> deployed SSM document name. */
  ACGS_DOCUMENT_NAMES: z.string().check(z.minLength(2)),
  ACGS_COMMAND_LOG_GROUP: z.string().check(z.minLength(1)),
  /** The backup bucket and its KMS key (backups Lambda only). */
  ACGS_BACKUP_BUCKET: z.optional(z.string().check(z.minLength(1))),
  ACGS_BACKUP_KMS_KEY: z.optional(z.string().check(z.minLength(1))),
  /**
   * Where incident reports are written when an incident resolves (the artifact bucket, under `incident-reports/`),
   * and its KMS key; for the Lambdas that resolve incidents (probe, operator API, backups). Absent: none is written.
   */
  ACGS_REPORT_BUCKET: z.optional(z.string().check(z.minLength(1))),
  ACGS_REPORT_KMS_KEY: z.optional(z.string().check(z.minLength(1))),
  /**
   * The database host where the backup documents run (backups Lambda only): `backups.instanceId`, or the stack's
   * deploy-time parameter when the config names none. The config's own value wins.
   */
  ACGS_BACKUP_INSTANCE_ID: z.optional(z.string().check(z.regex(/^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$/))),
  /** JSON array: the deployed Automation runbooks whose executions may invoke the operator API (operator API only). */
  ACGS_RUNBOOK_NAMES: z.optional(z.string().check(z.minLength(2))),
  POWERTOOLS_SERVICE_NAME: z.string().check(z.minLength(1)),
  POWERTOOLS_METRICS_NAMESPACE: z.string().check(z.minLength(1)),
});

export type HandlerEnvironment = z.infer<typeof handlerEnvironmentSchema>;

/** The Lambdas of the control plane: entry file (under lambdas/handlers/) and what triggers them. */
export const HANDLERS = {
  probe: { entry: 'probe.ts', trigger: 'schedule:probe' },
  escalationSweep: { entry: 'escalation-sweep.ts', trigger: 'schedule:escalationSweep' },
  commandStatus: { entry: 'command-status.ts', trigger: 'rule:ssm-command-status' },
  operatorApi: { entry: 'operator-api.ts', trigger: 'function-url:aws-iam' },
  backups: {
    entry: 'backups.ts',
    trigger: 'schedule:backup,backupMonitor,cleanup,drill,baseBackup,configArchive,canary',
  },
} as const;

export type HandlerName = keyof typeof HANDLERS;
