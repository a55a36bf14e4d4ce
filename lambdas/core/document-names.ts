/**
 * The SSM documents (files in `ssm-documents/`) the handlers send by name and the stack grants: a contract shared
 * by `lib/` and the use-cases, so it lives in the core (as `events.ts` does for the events).
 */

/** Restarts one service (remediation). */
export const RESTART_DOCUMENT = 'acgs-restart-service' as const;
/** Takes a backup of the database and publishes it. */
export const BACKUP_DOCUMENT = 'acgs-backup-database';
/** Restores the newest backup on a scratch server and reports (the restore drill). */
export const DRILL_DOCUMENT = 'acgs-restore-drill';
/** Takes a safety dump of the production database, or restores a published backup over it (Recovery Procedure). */
export const RESTORE_DOCUMENT = 'acgs-restore-database';
/** Sets up continuous WAL archiving, reports on it, and takes base backups (point-in-time recovery). */
export const WAL_ARCHIVING_DOCUMENT = 'acgs-wal-archiving';
/** Restores a base backup and the archived WAL up to a time into a scratch cluster. */
export const PITR_RESTORE_DOCUMENT = 'acgs-pitr-restore';

/**
 * Archives the fleet's configuration and service state (secrets left out), lists and restores the archives. On the
 * database host: the runbook's ACGS-1 is one host (services, units, database); the archives need one known place to
 * be listed, pruned and restored from, as the dumps do; and a fleet document is targeted by the services it names.
 */
export const CONFIG_ARCHIVE_DOCUMENT = 'acgs-config-archive';

/** Where a document's commands run: the database host (`backups.instanceId`), or the fleet's service hosts. */
export type DocumentHost = 'database-host' | 'fleet';

/**
 * Every document of `ssm-documents/` and the host it runs on, declared rather than guessed from its parameters: the
 * backup documents run on the database host only, never fleet-wide.
 */
export const DOCUMENT_HOSTS: Readonly<Record<string, DocumentHost>> = {
  [BACKUP_DOCUMENT]: 'database-host',
  [DRILL_DOCUMENT]: 'database-host',
  [RESTORE_DOCUMENT]: 'database-host',
  [WAL_ARCHIVING_DOCUMENT]: 'database-host',
  [PITR_RESTORE_DOCUMENT]: 'database-host',
  [CONFIG_ARCHIVE_DOCUMENT]: 'database-host',
  'acgs-collect-diagnostics': 'fleet',
  'acgs-isolate-service': 'fleet',
  'acgs-release-service': 'fleet',
  [RESTART_DOCUMENT]: 'fleet',
  'acgs-rolling-update': 'fleet',
  'acgs-start-all': 'fleet',
  'acgs-start-service': 'fleet',
  'acgs-stop-all': 'fleet',
  'acgs-stop-service': 'fleet',
};
