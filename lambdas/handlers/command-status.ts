import { parseCommandStatusEvent } from '../adapters/aws/ssm-status-event.ts';
import { recordCommandStatus } from '../use-cases/command-status.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';
import { type AwsRuntime, awsRuntimeWithoutCommands, jsonRecord } from './runtime-base.ts';

/**
 * SSM Run Command status changes (EventBridge, default bus), of commands and of their per-instance invocations,
 * routed by the document that ended (`recordCommandStatus`): a restart sent by the probe cycle is recorded on the
 * remediation ledger and the incident's timeline (recovery itself is still proven by the probes); a backup sent by
 * the backups Lambda that did not succeed opens the backup incident. A restart's status that comes before its sender
 * recorded the command id throws, so that Lambda's asynchronous retry brings it again.
 */
export function createCommandStatusHandler(runtime: AwsRuntime) {
  const { ctx, logger, env } = runtime;
  // The event names the deployed document; the stack's map tells which of ours it is.
  const ours = new Map(
    Object.entries(jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES)).map(([key, name]) => [name, key]),
  );
  return withPowertools(runtime, async (event: unknown) => {
    const change = parseCommandStatusEvent(event);
    const document = ours.get(change.documentName);
    if (document === undefined)
      logger.warn('status change of a document this Lambda does not handle', {
        commandId: change.commandId,
        documentName: change.documentName,
      });
    return recordCommandStatus(ctx, document, change);
  });
}

export const handler = lazyHandler(() => createCommandStatusHandler(awsRuntimeWithoutCommands()));
