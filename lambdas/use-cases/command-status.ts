import {
  type CommandStatusFacts,
  judgeCommandStatus,
  judgeUnknownCommand,
  UNKNOWN_COMMAND_RETRY_WINDOW_MS,
} from '../core/command-status.ts';
import { BACKUP_DOCUMENT, RESTART_DOCUMENT } from '../core/document-names.ts';
import { ControlPlaneError } from '../core/errors.ts';
import { finishBackupCommand } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';
import { finishRemediation } from './remediate.ts';

/** A status-change event of an SSM command the control plane sent, as `parseCommandStatusEvent` reads it. */
export interface CommandStatusEvent extends CommandStatusFacts {
  /** When the command was sent (epoch ms), when the event says. */
  readonly requestedAt?: number;
  /** When the event was emitted (EventBridge's `time`, epoch ms), when it says. */
  readonly eventAt?: number;
}

/**
 * A final status of a command id no attempt carries yet, young enough that its sender may still be recording it
 * (`attachCommand` follows SendCommand): thrown so that the invocation fails and Lambda's asynchronous retry
 * delivers the event again a minute, then two minutes, later.
 */
export class CommandNotYetRecordedError extends ControlPlaneError {
  constructor(commandId: string, ageMs: number) {
    super(
      'COMMAND_NOT_YET_RECORDED',
      `command ${commandId} is not recorded on any remediation attempt yet (event ${Math.round(ageMs / 1000)}s old, ` +
        `waited for up to ${UNKNOWN_COMMAND_RETRY_WINDOW_MS / 1000}s): retry the event`,
    );
  }
}

export type CommandStatusRecord =
  | { readonly commandId: string; readonly recorded: false; readonly why: string }
  | { readonly commandId: string; readonly recorded: true; readonly outcome: string }
  | {
      readonly commandId: string;
      readonly document: typeof BACKUP_DOCUMENT;
      readonly outcome: string;
      readonly incidentId: string | null;
    };

/**
 * Applies one SSM status-change event (command or invocation level) of a document of this stack, `document` being
 * our name of it: a restart's attempt is finished on the ledger and the incident's timeline as `judgeCommandStatus`
 * decides; a backup that did not succeed opens the backup incident. A final status of a restart whose command id no
 * attempt carries throws `CommandNotYetRecordedError` while the event is recent (`judgeUnknownCommand`), and is
 * logged and dropped once it is old.
 */
export async function recordCommandStatus(
  ctx: ControlPlaneContext,
  document: string | undefined,
  event: CommandStatusEvent,
): Promise<CommandStatusRecord> {
  const { commandId } = event;
  if (event.status === 'pending') return { commandId, recorded: false, why: 'not final' };
  switch (document) {
    case RESTART_DOCUMENT: {
      const verdict = judgeCommandStatus(event);
      if (verdict.action === 'wait') return { commandId, recorded: false, why: verdict.why };
      const attempt = await ctx.control.findAttemptByCommand(commandId);
      if (!attempt) {
        const unknown = judgeUnknownCommand(event.eventAt ?? event.requestedAt, ctx.clock.now());
        if (unknown.action === 'retry') {
          ctx.log('command-not-yet-recorded', { commandId, ageMs: unknown.ageMs });
          throw new CommandNotYetRecordedError(commandId, unknown.ageMs);
        }
        ctx.log('command-unknown-dropped', { commandId, why: unknown.why });
        return { commandId, recorded: false, why: unknown.why };
      }
      await finishRemediation(ctx, attempt, { status: verdict.status, output: verdict.detail });
      return { commandId, recorded: true, outcome: verdict.status };
    }
    case BACKUP_DOCUMENT: {
      // One instance (backups.instanceId): the command's status is its invocation's. Invocation events are ignored so
      // that a failed backup opens (or adds to) the incident once.
      if (event.kind === 'invocation')
        return { commandId, recorded: false, why: "backup invocation: the command's own status decides" };
      const incident = await finishBackupCommand(ctx, {
        commandId,
        ssmStatus: event.ssmStatus,
        status: event.status,
        ...(event.instanceId === undefined ? {} : { instanceId: event.instanceId }),
        ...(event.requestedAt === undefined ? {} : { requestedAt: event.requestedAt }),
      });
      return { commandId, document: BACKUP_DOCUMENT, outcome: event.status, incidentId: incident?.id ?? null };
    }
    default:
      return { commandId, recorded: false, why: 'document not handled' };
  }
}
