import type { MaintenanceWindow } from './escalation.ts';
import type { Incident, Notice, TimelineEntry } from './incident.ts';

/**
 * Lifecycle notices: what people hear about an incident besides the pages (issue 11). A notice is owed to every
 * channel whose config routes its kind (`events` on the channel); it is stored on its incident (or maintenance
 * window) in the same write as the change it announces, so it cannot be lost, and delivered per channel with retries.
 */
export { NOTICE_KINDS, type NoticeKind } from './fleet-constants.ts';

export type { Notice } from './incident.ts';

/** What a channel is given for a notice. */
export interface NoticeMessage {
  /** Idempotency key: `<incident or window id>/<notice key>`, the same on every retry. */
  readonly key: string;
  readonly notice: Notice;
  readonly incident?: Incident;
  readonly window?: MaintenanceWindow;
  /** The incident's timeline so far (empty for a window). */
  readonly recent: readonly TimelineEntry[];
}
