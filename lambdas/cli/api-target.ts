import type { FleetConfig } from '../core/config-schema.ts';
import { UsageError } from '../core/errors.ts';
import type { StateAccess } from '../local/runtime.ts';
import { type ApiRequest, type ApiResponse, handleApiRequest } from '../use-cases/operator-api.ts';
import type { CliContext } from './command.ts';
import { openRuntimeFor, operatorName } from './local-options.ts';

/**
 * Where an operator command sends its request to the operator API: in-process on this host's state (`--target
 * local`), or signed to the deployed Function URL (`--target aws`). One request, one answer, either way.
 */

/** The options every command reaching the operator API takes (beside LOCAL_OPTIONS). */
export const API_TARGET_OPTIONS = {
  target: { type: 'string', default: 'local' },
  url: { type: 'string' },
  region: { type: 'string' },
} as const;

export const API_TARGET_HELP = `      --target T     local (default) or aws
      --url URL      operator API URL for --target aws (default: $ACGS_OPERATOR_URL)
      --region R     AWS region for --target aws (default: $AWS_REGION)`;

export type ApiTarget =
  | { readonly kind: 'local' }
  | { readonly kind: 'aws'; readonly url: string; readonly region: string };

/**
 * The target the options name, checked before anything is opened or sent (exit 64): `--target` local or aws; aws
 * needs a URL and a region, and takes no `--by` (in AWS you act as your IAM identity).
 */
export function apiTarget(values: {
  readonly target?: string | undefined;
  readonly url?: string | undefined;
  readonly region?: string | undefined;
  readonly by?: string | undefined;
}): ApiTarget {
  const target = values.target ?? 'local';
  if (target !== 'local' && target !== 'aws') throw new UsageError(`--target must be local or aws, got "${target}"`);
  if (target === 'local') return { kind: 'local' };
  const url = values.url ?? process.env.ACGS_OPERATOR_URL;
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!url) throw new UsageError('--target aws needs --url (or ACGS_OPERATOR_URL): the stack output OperatorApiUrl');
  if (!region) throw new UsageError('--target aws needs --region (or AWS_REGION)');
  if (values.by !== undefined) throw new UsageError('--by is for --target local; in AWS you act as your IAM identity');
  return { kind: 'aws', url, region };
}

/** What a local call needs: the command's options, what it does with the state, and a check of the config first. */
export interface LocalCall {
  readonly values: {
    readonly config?: string | undefined;
    readonly state?: string | undefined;
    readonly by?: string | undefined;
  };
  readonly context: CliContext;
  readonly access: StateAccess;
  /** Sees the config before the state is opened: input it refuses creates nothing. */
  readonly check?: (config: FleetConfig) => void;
  /** How long `--target aws` waits for the answer (a procedure waits for its commands). @default 30 s */
  readonly timeoutMs?: number;
}

/** The longest an operator API call may take: the operator Lambda's 15 minutes, and a minute to spare. */
export const PROCEDURE_TIMEOUT_MS = 16 * 60_000;

/**
 * Sends `request` to the target and returns the answer, whatever its status. Locally the caller is `--by` or the
 * login name; in AWS it is the IAM identity that signed the request.
 */
export async function callApi(
  target: ApiTarget,
  request: Omit<ApiRequest, 'caller'>,
  local: LocalCall,
): Promise<ApiResponse> {
  if (target.kind === 'aws') {
    // Loaded for --target aws only: the signing stack is not needed (nor paid for at start-up) on one host.
    const { sendOperatorApi } = await import('./aws-operator-client.ts');
    return sendOperatorApi(target.url, target.region, {
      method: request.method as 'GET' | 'POST',
      path: request.path,
      ...(request.body === undefined ? {} : { body: JSON.parse(request.body) }),
      query: Object.fromEntries(Object.entries(request.query).filter((e): e is [string, string] => e[1] !== undefined)),
      ...(local.timeoutMs === undefined ? {} : { timeoutMs: local.timeoutMs }),
    });
  }
  // Checked before the state is opened, like the request: bad input creates nothing.
  const caller = operatorName(local.values.by);
  const { runtime } = await openRuntimeFor(local.values, local.context, {
    access: local.access,
    ...(local.check === undefined ? {} : { check: local.check }),
  });
  try {
    return await handleApiRequest(runtime.ctx, { ...request, caller });
  } finally {
    runtime.close();
  }
}

/** The error an answer of 4xx or 5xx carries, or its status. */
export function answerError(response: ApiResponse): string {
  const body = response.body;
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') return body.error;
  return `operator API answered HTTP ${response.statusCode}`;
}
