import { archivingRoutes } from './archiving-routes.ts';
import { backupRoutes } from './backup-routes.ts';
import type { Route } from './route.ts';

/**
 * The routes of the database's backups, drills, restores and WAL archiving: S3 and SSM. One lazily loaded group of
 * the operator API; backup-routes before archiving-routes (`/backups/{id}/restore` is tried first, as ever).
 */
export const backupGroupRoutes: readonly Route[] = [...backupRoutes, ...archivingRoutes];
