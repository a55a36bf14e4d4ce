import { parseCommandStatusEvent } from '../adapters/aws/ssm-command-runner.ts';
import { BACKUP_DOCUMENT, RESTART_DOCUMENT } from '../core/document-names.ts';
import { finishBackupCommand } from '../use-cases/backups.ts';
import { finishRemediation } from '../use-cases/remediate.ts';
import { type AwsRuntime, awsRuntime, jsonRecord } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

/**
 * SSM command status change (EventBridge, default bus), routed by the document that ended: a restart sent by the
 * probe cycle is recorded on the remediation ledger and the incident's timeline (recovery itself is still proven by
 * the probes); a backup sent by the backups Lambda that did not succeed opens the backup incident.
 */
export function createCommandStatusHandler(runtime: AwsRuntime) {
  const { ctx, logger, env } = runtime;
  // The event names the deployed document; the stack's map tells which of ours it is.
  const ours = new Map(
    Object.entries(jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES)).map(([key, name]) => [name, key]),
  );
  return withPowertools(runtime, async (event: unknown) => {
    const change = parseCommandStatusEvent(event);
    if (change.status === 'pending') return { commandId: change.commandId, recorded: false, why: 'not final' };
    const document = ours.get(change.documentName);
    switch (document) {
      case RESTART_DOCUMENT: {
        const attempt = await ctx.control.findAttemptByCommand(change.commandId);
        if (!attempt) {
          logger.info('command not sent by the control plane', { commandId: change.commandId });
          return { commandId: change.commandId, recorded: false, why: 'unknown command' };
        }
        await finishRemediation(ctx, attempt, {
          status: change.status,
          output: `SSM status ${change.ssmStatus} (command ${change.commandId}${change.instanceId ? ` on ${change.instanceId}` : ''})`,
        });
        return { commandId: change.commandId, recorded: true, outcome: change.status };
      }
      case BACKUP_DOCUMENT: {
        const incident = await finishBackupCommand(ctx, {
          commandId: change.commandId,
          ssmStatus: change.ssmStatus,
          status: change.status,
          ...(change.instanceId === undefined ? {} : { instanceId: change.instanceId }),
          ...(change.requestedAt === undefined ? {} : { requestedAt: change.requestedAt }),
        });
        return { commandId: change.commandId, document, outcome: change.status, incidentId: incident?.id ?? null };
      }
      default:
        logger.warn('status change of a document this Lambda does not handle', {
          commandId: change.commandId,
          documentName: change.documentName,
        });
        return { commandId: change.commandId, recorded: false, why: 'document not handled' };
    }
  });
}

export const handler = lazyHandler(() => createCommandStatusHandler(awsRuntime()));
