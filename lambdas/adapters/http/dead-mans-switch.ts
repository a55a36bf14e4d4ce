import type { FleetConfig } from '../../core/config-schema.ts';
import { type PingOutcome, pingDestination, pingRequest, pingUrlProblem } from '../../core/dead-mans-switch.ts';
import { ControlPlaneError, errorMessage } from '../../core/errors.ts';
import type { SecretSource } from '../../ports.ts';

/*
 * The dead man's switch over HTTP (fetch), for the daemon and the probe Lambda alike: neither has anything but the
 * URL in common with the outside service.
 */

export type DeadMansSwitchConfig = NonNullable<FleetConfig['deadMansSwitch']>;

export interface HttpDeadMansSwitchOptions {
  /** One ping, answer included. */
  readonly timeoutMs: number;
  /** Where a failed ping is reported (the control plane's log); never with the URL, which carries a secret. */
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * The ping URL of `config`: `url` as given, or read through `secrets` (the environment variable `urlEnv` on one host,
 * the Secrets Manager secret `urlSecret` in AWS: once per cold start, the source keeps it). Checked like `url` is;
 * errors name the field, never the value.
 */
export function deadMansSwitchUrl(config: DeadMansSwitchConfig, secrets: SecretSource): () => Promise<string> {
  const { url, urlEnv, urlSecret } = config;
  if (url !== undefined) return async () => url;
  const purpose = "the dead man's switch URL (deadMansSwitch)";
  return async () => {
    const value = await secrets.get({
      purpose,
      ...(urlEnv === undefined ? {} : { env: urlEnv }),
      ...(urlSecret === undefined ? {} : { secret: urlSecret }),
    });
    const where = [
      urlEnv === undefined ? undefined : `deadMansSwitch.urlEnv (${urlEnv})`,
      urlSecret === undefined ? undefined : `deadMansSwitch.urlSecret (${urlSecret.id})`,
    ]
      .filter(Boolean)
      .join(' or ');
    if (value === undefined || value === '')
      throw new ControlPlaneError(
        'CONFIG',
        `${where}: no ping URL there (urlEnv is read on one host, urlSecret in AWS)`,
      );
    const problem = pingUrlProblem(value.trim());
    if (problem) throw new ControlPlaneError('CONFIG', `${where}: the ping URL ${problem}`);
    return value.trim();
  };
}

/**
 * Pings the outside service after a probe cycle. A ping never fails the cycle: whatever goes wrong (no URL, a
 * refused connection, a timeout, an answer other than 2xx) is logged as `dead-mans-switch-ping-failed` and the
 * outside service, missing the ping, pages as it should.
 */
export class HttpDeadMansSwitch {
  readonly #url: () => Promise<string>;
  readonly #options: HttpDeadMansSwitchOptions;
  #sending: Promise<void> | undefined;
  #next: PingOutcome | undefined;

  constructor(url: () => Promise<string>, options: HttpDeadMansSwitchOptions) {
    this.#url = url;
    this.#options = options;
  }

  /** Sends one ping and resolves once it is answered or given up: true when the service took it. Never rejects. */
  async ping(outcome: PingOutcome): Promise<boolean> {
    let destination = "the dead man's switch";
    try {
      const request = pingRequest(await this.#url(), outcome);
      destination = pingDestination(request.url);
      const send = this.#options.fetch ?? fetch;
      const response = await send(request.url, {
        method: request.method,
        body: request.body,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      // Read (and drop) the answer, so the connection is free for the next ping.
      await response.arrayBuffer();
      if (response.ok) return true;
      this.#failed(destination, outcome, `HTTP ${response.status}`);
    } catch (error) {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a certificate, DNS).
      const cause = error instanceof Error && error.cause !== undefined ? `: ${errorMessage(error.cause)}` : '';
      this.#failed(destination, outcome, `${errorMessage(error)}${cause}`);
    }
    return false;
  }

  /**
   * Sends the ping in the background, after any still in flight; a newer outcome replaces one not sent yet, so a slow
   * service gets the latest word, in order, and never a backlog. The promise settles when nothing is left to send.
   */
  report(outcome: PingOutcome): Promise<void> {
    this.#next = outcome;
    this.#sending ??= this.#drain();
    return this.#sending;
  }

  async #drain(): Promise<void> {
    for (let outcome = this.#next; outcome !== undefined; outcome = this.#next) {
      this.#next = undefined;
      await this.ping(outcome);
    }
    this.#sending = undefined;
  }

  #failed(destination: string, outcome: PingOutcome, error: string): void {
    this.#options.log('dead-mans-switch-ping-failed', {
      destination,
      ping: outcome.ok ? 'success' : 'fail',
      error,
      note: 'the probe cycle is not affected; the outside service pages if pings keep failing',
    });
  }
}
