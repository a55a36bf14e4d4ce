import * as z from './zod-mini.ts';

/**
 * What each backup schedule sends to the backups Lambda (the schedule's input): a contract shared by the stack,
 * which writes it into the schedules, and the handler, which parses it.
 */
export const backupTaskSchema = z.strictObject({
  task: z.enum(['backup', 'monitor', 'retention', 'drill', 'base-backup', 'config-archive', 'canary', 'pitr-drill']),
});
export type BackupTask = z.output<typeof backupTaskSchema>['task'];
