import { secretValue } from '../../core/secret-ref.ts';
import type { SecretReadOptions, SecretRequest, SecretSource } from '../../ports.ts';

/**
 * Secrets for tests: Secrets Manager secrets by id (raw strings, plain or JSON) and environment variables, both
 * changeable between reads. Every read is recorded, so a test can tell a cached read from a fresh one.
 */
export class MemorySecretSource implements SecretSource {
  readonly secrets: Map<string, string>;
  readonly env: Map<string, string>;
  readonly reads: Array<{ readonly purpose: string; readonly fresh: boolean }> = [];

  constructor(secrets: Readonly<Record<string, string>> = {}, env: Readonly<Record<string, string>> = {}) {
    this.secrets = new Map(Object.entries(secrets));
    this.env = new Map(Object.entries(env));
  }

  async get(request: SecretRequest, options: SecretReadOptions = {}): Promise<string | undefined> {
    this.reads.push({ purpose: request.purpose, fresh: options.fresh === true });
    if (request.secret !== undefined) {
      const raw = this.secrets.get(request.secret.id);
      return raw === undefined ? undefined : secretValue(raw, request.secret);
    }
    return request.env === undefined ? undefined : this.env.get(request.env);
  }
}
