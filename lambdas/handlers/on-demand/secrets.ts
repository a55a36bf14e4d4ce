/*
 * What the probe Lambda loads with its first secret (a PostgreSQL password, a dead man's switch URL): the Secrets
 * Manager client and the source that reads through it. Most probe cycles of a config without secrets never load it.
 */
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { SecretsManagerSecretSource } from '../../adapters/aws/secrets-manager-secret-source.ts';
