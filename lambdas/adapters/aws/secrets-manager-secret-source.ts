import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { errorMessage, SecretError } from '../../core/errors.ts';
import { secretValue } from '../../core/secret-ref.ts';
import type { SecretReadOptions, SecretRequest, SecretSource } from '../../ports.ts';

interface CachedRead {
  readonly value: Promise<string>;
  settled: boolean;
}

/**
 * Secrets from AWS Secrets Manager: each secret is read once per Lambda instance (cold start) and kept, so a probe
 * cycle costs no API call; `fresh` reads it again, for a consumer whose credentials were just refused (a rotation
 * replaced the value). Concurrent reads of one secret share one call, and a fresh request while a read is still in
 * flight waits for that read rather than starting another. A failed read is not kept: the next request tries again.
 * Environment variables and pgpass files are not consulted: a Lambda has neither.
 */
export class SecretsManagerSecretSource implements SecretSource {
  readonly #client: SecretsManagerClient;
  readonly #cache = new Map<string, CachedRead>();

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async get(request: SecretRequest, options: SecretReadOptions = {}): Promise<string | undefined> {
    const ref = request.secret;
    if (ref === undefined) return undefined;
    let cached = this.#cache.get(ref.id);
    if (cached === undefined || (options.fresh === true && cached.settled)) {
      cached = this.#read(ref.id, request.purpose);
      this.#cache.set(ref.id, cached);
    }
    return secretValue(await cached.value, ref);
  }

  #read(id: string, purpose: string): CachedRead {
    const read: CachedRead = { value: this.#fetch(id, purpose), settled: false };
    read.value.then(
      () => {
        read.settled = true;
      },
      () => {
        read.settled = true;
        if (this.#cache.get(id) === read) this.#cache.delete(id);
      },
    );
    return read;
  }

  async #fetch(id: string, purpose: string): Promise<string> {
    let output: GetSecretValueCommandOutput;
    try {
      output = await this.#client.send(new GetSecretValueCommand({ SecretId: id }));
    } catch (error) {
      // The SDK's messages name the secret and the refusal (AccessDenied, ResourceNotFound, DecryptionFailure).
      const name = error instanceof Error ? error.name : 'Error';
      throw new SecretError(`cannot read secret ${id} (${purpose}): ${name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    if (typeof output.SecretString !== 'string')
      throw new SecretError(`secret ${id} (${purpose}) holds binary data, not a string`);
    return output.SecretString;
  }
}
