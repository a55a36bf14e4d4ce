import { formatInstant } from '../../core/duration.ts';
import { ControlPlaneError, errorMessage } from '../../core/errors.ts';
import type { ProcedureOutcome } from '../../core/incident.ts';
import type { ControlPlaneContext } from '../context.ts';
import { recordProcedureOnIncidents } from '../record-procedure.ts';
import { lastLine, type ProcedureRun, SERVICE_ISOLATED } from '../service-procedures.ts';
import type { ApiResponse } from './route.ts';

/** The most of a document's output an answer carries: its end, where the documents say why they failed. */
export const MAX_PROCEDURE_OUTPUT = 4000;

/** The HTTP status of a procedure's outcome: the fleet failed it (502), or refused it (409: exit 2, nothing run). */
export function procedureStatusCode(run: Pick<ProcedureRun, 'result'>): number {
  const { status, exitCode } = run.result;
  if (status === 'succeeded') return 200;
  if (status === 'pending') return 202;
  if (status === 'rejected' || exitCode === 2) return 409;
  return 502;
}

/** The answer of every procedure route (issue 10's shape). */
export function procedureBody(action: string, run: ProcedureRun) {
  const { result, window, steps } = run;
  const output =
    result.output.length > MAX_PROCEDURE_OUTPUT ? result.output.slice(-MAX_PROCEDURE_OUTPUT) : result.output;
  return {
    procedure: action,
    services: [...run.services],
    status: result.status,
    ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
    output,
    ...(result.commandId === undefined ? {} : { commandId: result.commandId }),
    ...(window === undefined
      ? {}
      : { window: { id: window.id, subjects: [...window.subjects], until: formatInstant(window.endsAt) } }),
    ...(steps === undefined ? {} : { steps: steps.map((s) => ({ ...s })) }),
    ...(result.status === 'succeeded' ? {} : { error: lastLine(result.output) || result.status }),
  };
}

export interface ProcedureCall {
  readonly ctx: ControlPlaneContext;
  /** Who acts: the authenticated caller. */
  readonly by: string;
  readonly action: string;
  /** The services named, for the timelines: none for a fleet-wide procedure (then every open incident hears of it). */
  readonly concerns: readonly string[];
  readonly run: () => Promise<ProcedureRun>;
}

/**
 * Runs a procedure and answers with its outcome, once recorded on the open incidents it concerns. A refusal by state
 * (an isolated service) is a 409 recorded as `rejected`; bad input (UsageError) is left to the router (400) with
 * nothing run and nothing recorded.
 */
export async function answerProcedure(call: ProcedureCall): Promise<ApiResponse> {
  const { ctx, by, action, concerns } = call;
  let run: ProcedureRun;
  try {
    run = await call.run();
  } catch (error) {
    if (!(error instanceof ControlPlaneError) || error.code !== SERVICE_ISOLATED) throw error;
    await record(ctx, { by, action, services: concerns, outcome: 'rejected', detail: error.message });
    return {
      statusCode: 409,
      body: { procedure: action, services: [...concerns], status: 'rejected', output: '', error: error.message },
    };
  }
  const body = procedureBody(action, run);
  await record(ctx, {
    by,
    action,
    services: concerns,
    outcome: run.result.status,
    detail: lastLine(run.result.output) || run.result.status,
  });
  return { statusCode: procedureStatusCode(run), body };
}

async function record(
  ctx: ControlPlaneContext,
  record: {
    by: string;
    action: string;
    services: readonly string[];
    outcome: ProcedureOutcome;
    detail: string;
  },
): Promise<void> {
  try {
    await recordProcedureOnIncidents(ctx, { ...record, detail: record.detail.slice(0, 500) });
  } catch (error) {
    // The procedure ran: its answer says what happened; the timelines missing it is logged, not answered as a failure.
    ctx.log('procedure-record-failed', { action: record.action, error: errorMessage(error) });
  }
}
