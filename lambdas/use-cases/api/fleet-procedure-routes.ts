import { fleetRoutes } from './fleet-routes.ts';
import { healthRoutes } from './health-routes.ts';
import { rollingUpdateRoutes } from './rolling-update-route.ts';
import type { Route } from './route.ts';
import { serviceRoutes } from './service-routes.ts';

/**
 * The routes that run procedures on the fleet's hosts (one service, the whole fleet, a rolling update) or wait for
 * their health: SSM Run Command. One lazily loaded group of the operator API; fleet-routes before the rolling update.
 */
export const fleetProcedureRoutes: readonly Route[] = [
  ...serviceRoutes,
  ...fleetRoutes,
  ...healthRoutes,
  ...rollingUpdateRoutes,
];
