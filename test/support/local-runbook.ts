import { placeRunbook, resolveParameters } from '../../lambdas/core/automation-document.ts';
import {
  type ExecutionReport,
  loadRunbook,
  operatorApiInvoker,
  runAutomation,
} from '../../lambdas/local/automation-runner.ts';
import type { ControlPlaneContext } from '../../lambdas/use-cases/context.ts';
import type { ManualClock } from './harness.ts';

export interface LocalRunbookOptions {
  readonly executionId: string;
  /** The local operator the API sees (`local:<operator> via runbook ...`). @default 'ops' */
  readonly operator?: string;
}

/**
 * The runbook file `name` run by the local interpreter against `ctx`'s operator API in-process, as `acgs-ops runbook
 * run` runs it: placed on the context's fleet, `params` checked as Automation checks them (a refused one throws), a
 * sleep advancing the manual clock.
 */
export function runLocalRunbook(
  ctx: ControlPlaneContext,
  clock: ManualClock,
  name: string,
  params: Readonly<Record<string, string>>,
  options: LocalRunbookOptions,
): Promise<ExecutionReport> {
  const document = placeRunbook(loadRunbook(name), { services: ctx.config.services.map((s) => s.name) });
  const resolved = resolveParameters(document, params);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const { executionId, operator = 'ops' } = options;
  return runAutomation({
    document,
    documentName: name,
    parameters: resolved.values,
    executionId,
    invoke: operatorApiInvoker(ctx, { operator, documentName: name, executionId }),
    clock,
    sleep: async (ms) => clock.advance(ms),
  });
}
