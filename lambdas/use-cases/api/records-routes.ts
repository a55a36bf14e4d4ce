import { auditRoutes } from './audit-routes.ts';
import { escalationRoutes } from './escalation-routes.ts';
import { incidentRoutes } from './incident-routes.ts';
import { maintenanceRoutes } from './maintenance-routes.ts';
import { procedureRoutes } from './procedure-routes.ts';
import type { Route } from './route.ts';

/**
 * The routes that read and write the control plane's records (incidents, the audit trail, procedures, maintenance
 * windows, escalation tests): DynamoDB, SNS when a change pages. One lazily loaded group of the operator API.
 */
export const recordsRoutes: readonly Route[] = [
  ...incidentRoutes,
  ...auditRoutes,
  ...maintenanceRoutes,
  ...procedureRoutes,
  ...escalationRoutes,
];
