import { UsageError } from '../../core/errors.ts';
import { checkInput } from '../../core/operator-input.ts';
import type * as z from '../../core/zod-mini.ts';
import type { HealthObserver } from '../await-healthy.ts';
import type { ControlPlaneContext } from '../context.ts';

/**
 * One request to the operators' API, the same on every transport: a Lambda Function URL with IAM auth or an SSM
 * Automation step in AWS, the CLI in-process on one host. Who acts comes from the authenticated caller, never from
 * the body.
 */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  /** The authenticated caller (an IAM principal ARN in AWS). */
  readonly caller: string;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What a route's handler gets: the context, the request, its clock reading and the path's named groups. */
export interface RouteCall {
  readonly ctx: ControlPlaneContext;
  readonly request: ApiRequest;
  readonly now: number;
  readonly params: Readonly<Record<string, string>>;
  readonly options: ApiOptions;
}

/** What a transport may lend the routes beyond the context. */
export interface ApiOptions {
  /** How POST /health/wait observes health. @default the recorded target states (what the probes wrote) */
  readonly observeHealth?: HealthObserver;
  /** How a wait waits between observations (tests move a manual clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * One route of the API. `path` is anchored and its named groups become `params` (each group's pattern is the
 * validation of that segment: a path that does not match is a 404, never a handler call with a bad id).
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: RegExp;
  /**
   * What a mutating route does, as the audit trail and the timeline name it (`service.restart`, `incident.ack`, ...).
   * Every non-GET request is recorded on the audit trail under this name.
   */
  readonly action?: string;
  handle(call: RouteCall): Promise<ApiResponse>;
}

/** Far above any valid body (a reason of 1000 characters, JSON-escaped), far below what a Function URL accepts. */
export const MAX_BODY_BYTES = 16 * 1024;

/** The request body checked against `schema`; an absent or blank body is `{}`. */
export function parseBody<T extends z.core.$ZodType>(schema: T, body: string | undefined): z.output<T> {
  let raw: unknown = {};
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    throw new UsageError(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
  if (body !== undefined && body.trim() !== '') {
    try {
      raw = JSON.parse(body);
    } catch {
      throw new UsageError('the request body is not valid JSON');
    }
  }
  return checkInput(schema, raw);
}
