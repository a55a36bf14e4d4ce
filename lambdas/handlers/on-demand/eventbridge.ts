/*
 * What a Lambda loads with the first event published (a dynamic import, see ../lazy-adapters.ts): the client and its adapter, named, so
 * that esbuild keeps only what they use of the SDK package (a dynamic import of the package itself would keep every
 * command of the service).
 */
export { EventBridgeClient } from '@aws-sdk/client-eventbridge';
export { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
