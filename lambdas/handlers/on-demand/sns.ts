/*
 * What a Lambda loads with the first page (a dynamic import, see ../lazy-adapters.ts): the client and its adapter, named, so
 * that esbuild keeps only what they use of the SDK package (a dynamic import of the package itself would keep every
 * command of the service).
 */
export { SNSClient } from '@aws-sdk/client-sns';
export { SnsNotifier } from '../../adapters/aws/sns-notifier.ts';
