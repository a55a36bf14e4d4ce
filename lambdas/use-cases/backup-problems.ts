import type { BackupConfig, Severity } from '../core/config-schema.ts';
import { ControlPlaneError } from '../core/errors.ts';
import type { IncidentKind } from '../core/incident.ts';
import type { ProblemReport } from '../core/incident-planner.ts';
import type { ControlPlaneContext } from './context.ts';

/**
 * The incidents of the backup monitors, shared by the dump monitor (backups.ts) and the archive and PITR drill
 * (wal-archiving.ts), which import it from here rather than from each other.
 */

export function backupsOf(ctx: ControlPlaneContext): BackupConfig {
  const { backups } = ctx.config;
  if (!backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${ctx.config.fleet.name} has no backups section`);
  return backups;
}

/**
 * One incident per subject: `backup` (the dumps), `drill`, `archive` (WAL archiving: active, archive_command, the
 * RPO), `base-backup` (the archive's newest base backup), `rpo` (the standing verdict of a dumps-only setup).
 */
export type BackupSubject = 'backup' | 'drill' | 'archive' | 'base-backup' | 'rpo';

export function backupKey(ctx: ControlPlaneContext, subject: BackupSubject): string {
  const backups = backupsOf(ctx);
  const db = ctx.config.checks.find((c) => c.name === backups.database);
  return `${subject}:${backups.database}@${db && 'host' in db ? db.host : ctx.config.fleet.name}`;
}

export function problem(
  ctx: ControlPlaneContext,
  subject: BackupSubject,
  severity: Severity,
  title: string,
  reasons: readonly string[],
): ProblemReport {
  const now = ctx.clock.now();
  const kind: IncidentKind = subject === 'drill' ? 'drill' : 'backup';
  return {
    dedupKey: backupKey(ctx, subject),
    kind,
    severity,
    title,
    targets: [],
    services: [],
    flapping: false,
    detail: reasons.join('; '),
    failingSince: now,
  };
}
