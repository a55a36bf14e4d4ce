import type { Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { awsChannelProblems, awsChannelSecrets } from '../lambdas/core/aws-channels.ts';
import type { FleetConfig } from '../lambdas/core/config-schema.ts';
import { type SecretRef, secretResourceArn } from '../lambdas/core/secret-ref.ts';

/** A secret the config names for AWS, with the field that names it (for messages). */
export interface ConfiguredSecret {
  /** `checks[0].passwordSecret` */
  readonly field: string;
  /** The check it belongs to (empty for the dead man's switch). */
  readonly check: string;
  readonly ref: SecretRef;
}

/**
 * The secrets the probe Lambda reads: every postgres check's `passwordSecret`, and the dead man's switch's ping URL
 * (`deadMansSwitch.urlSecret`). The notification channels' secrets are `channelSecrets`, granted to every Lambda
 * that pages.
 */
export function probeSecrets(config: FleetConfig): ConfiguredSecret[] {
  const passwords = config.checks.flatMap((check, i) =>
    check.kind === 'postgres' && check.passwordSecret
      ? [{ field: `checks[${i}].passwordSecret`, check: check.name, ref: check.passwordSecret }]
      : [],
  );
  // The dead man's switch's ping URL, which carries the check's secret uuid: the probe pings after every cycle.
  const pingUrl = config.deadMansSwitch?.urlSecret;
  return pingUrl ? [...passwords, { field: 'deadMansSwitch.urlSecret', check: '', ref: pingUrl }] : passwords;
}

/**
 * The secrets of the config's PagerDuty, Slack and Teams channels (`routingKeySecret`, `urlSecret`), read by every
 * Lambda that pages or delivers notices, on its first page or notice through the channel.
 */
export function channelSecrets(config: FleetConfig): ConfiguredSecret[] {
  return awsChannelSecrets(config.notifications.channels).map((s) => ({ field: s.field, check: '', ref: s.ref }));
}

/** The secret the database host reads for backups and drills: the `passwordSecret` of `backups.database`, if any. */
export function backupHostSecrets(config: FleetConfig): ConfiguredSecret[] {
  const database = config.backups?.database;
  return probeSecrets(config).filter((s) => s.check === database);
}

/**
 * Why this config cannot work in AWS for want of a secret: a postgres check that names a password only as an
 * environment variable (`passwordEnv`) gets none in a Lambda, which carries no secret in its environment, so the
 * check would fail authentication forever (a permanent P1); and backups of a database whose password the host
 * could get neither from a secret nor from a pgpass file. Empty: nothing is missing.
 */
export function awsSecretProblems(config: FleetConfig): string[] {
  const { backups } = config;
  const database = backups ? config.checks.findIndex((c) => c.name === backups.database) : -1;
  const check = config.checks[database];
  const backupProblem =
    backups && check?.kind === 'postgres' && !check.passwordSecret && backups.pgpassFile === undefined
      ? [
          `backups: the database host has no way to the password of ${check.name}: name its secret in ` +
            `checks[${database}].passwordSecret (or a pgpass file on the host in backups.pgpassFile)`,
        ]
      : [];
  const dms = config.deadMansSwitch;
  const pingProblem =
    dms && dms.url === undefined && dms.urlSecret === undefined
      ? [
          `deadMansSwitch: urlEnv ${dms.urlEnv} names an environment variable, but the probe Lambda has no way to get ` +
            'it: name the Secrets Manager secret holding the ping URL in deadMansSwitch.urlSecret',
        ]
      : [];
  // Notification channels: smtp and secrets in the environment refused, each naming the channel and the field.
  return [
    ...checkProblems(config),
    ...backupProblem,
    ...pingProblem,
    ...awsChannelProblems(config.notifications.channels),
  ];
}

function checkProblems(config: FleetConfig): string[] {
  return config.checks.flatMap((check, i) =>
    check.kind === 'postgres' && check.passwordEnv !== undefined && check.passwordSecret === undefined
      ? [
          `checks[${i}] (${check.name}): passwordEnv ${check.passwordEnv} names an environment variable, but the probe ` +
            'Lambda has no way to get it (no secret is ever put in its environment): name the Secrets Manager secret ' +
            `holding the password in checks[${i}].passwordSecret, e.g. passwordSecret: { id: ${config.fleet.name}/${check.name} }`,
        ]
      : [],
  );
}

/** The problems as one message: a heading naming `source`, then one line each. */
export function formatSecretProblems(source: string, problems: readonly string[]): string {
  return `${source} cannot run in AWS as it is:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

/** Refuses (throws) a config that would leave a probe without its password in AWS; see awsSecretProblems. */
export function assertAwsSecrets(config: FleetConfig): void {
  const problems = awsSecretProblems(config);
  if (problems.length > 0) throw new Error(formatSecretProblems('the fleet config', problems));
}

/**
 * `secretsmanager:GetSecretValue` on exactly these secrets (a name gets the `-??????` suffix Secrets Manager adds;
 * an ARN is taken as given), and `kms:Decrypt` through Secrets Manager on the customer-managed keys they name.
 * Empty when there are none.
 */
export function secretReadStatements(
  secrets: readonly ConfiguredSecret[],
  stack: Stack,
  what: 'Database' | 'Channel' = 'Database',
): PolicyStatement[] {
  if (secrets.length === 0) return [];
  const scope = { partition: stack.partition, region: stack.region, account: stack.account };
  const arns = [...new Set(secrets.map((s) => secretResourceArn(s.ref.id, scope)))].sort();
  const keys = [...new Set(secrets.flatMap((s) => (s.ref.kmsKeyArn ? [s.ref.kmsKeyArn] : [])))].sort();
  return [
    new PolicyStatement({ sid: `Read${what}Secrets`, actions: ['secretsmanager:GetSecretValue'], resources: arns }),
    ...(keys.length === 0
      ? []
      : [
          new PolicyStatement({
            sid: `Decrypt${what}Secrets`,
            actions: ['kms:Decrypt'],
            resources: keys,
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
          }),
        ]),
  ];
}

/** Grants `grantee` the read of these secrets (nothing when there are none). */
export function grantSecretReads(
  grantee: IGrantable,
  secrets: readonly ConfiguredSecret[],
  stack: Stack,
  what: 'Database' | 'Channel' = 'Database',
): void {
  for (const statement of secretReadStatements(secrets, stack, what))
    grantee.grantPrincipal.addToPrincipalPolicy(statement);
}
