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
