/*
 * What a Lambda whose config names HTTP channels (PagerDuty, Slack, Teams, webhook) loads with its first page or
 * notice (a dynamic import, see ../runtime-base.ts): the channel router, the channels, and the Secrets Manager client
 * their secrets are read with, named so that esbuild keeps only what they use of the SDK package. No nodemailer.
 */
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { awsChannelNotifier } from '../../adapters/aws/channel-notifier.ts';
export { SecretsManagerSecretSource } from '../../adapters/aws/secrets-manager-secret-source.ts';
