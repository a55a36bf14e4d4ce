import { formatDuration, formatInstant } from './duration.ts';
import type { TimelineEntry } from './incident.ts';

/**
 * How a timeline entry reads: `timeline`, the full line the CLI (`incident show`) and the demo print for every
 * entry; `page`, the short form a page's "Done so far" lists, only for what was done about the incident (restarts,
 * breakers, pages, acknowledgements; undefined for the rest). One function, so each entry is worded in one place;
 * two modes, because pages already in operators' hands read the short form and the CLI's readers the full one.
 */
export type EntryWording = 'timeline' | 'page';

export function describeEntry(e: TimelineEntry, wording?: 'timeline'): string;
export function describeEntry(e: TimelineEntry, wording: 'page'): string | undefined;
export function describeEntry(e: TimelineEntry, wording: EntryWording = 'timeline'): string | undefined {
  const page = wording === 'page';
  switch (e.type) {
    case 'opened':
      return page ? undefined : `opened ${e.severity}: ${e.detail}`;
    case 'severity-raised':
      return page ? undefined : `severity ${e.from} -> ${e.to}: ${e.detail}`;
    case 'impact-changed':
      return page ? undefined : `impact grew: ${e.added.join(', ')}`;
    case 'flapping':
      if (page) return undefined;
      return e.flapping ? 'flapping started' : 'flapping stopped';
    case 'paged':
      return page
        ? `paged level ${e.level} (${e.levelName})`
        : `paged level ${e.level} (${e.levelName}) [${e.why}]: ${e.contacts.join(', ')}`;
    case 'page-muted':
      return page ? undefined : `page muted by maintenance window ${e.window} until ${formatInstant(e.until)}`;
    case 'acknowledged':
      return page || !e.note ? `acknowledged by ${e.by}` : `acknowledged by ${e.by}: ${e.note}`;
    case 'ack-expired':
      return page ? undefined : 'acknowledgement expired';
    case 'remediation':
      return page ? e.detail : `${e.action} ${e.service} ${e.outcome}: ${e.detail}`;
    case 'breaker-open': {
      const restarts = `${e.restarts} restarts in ${formatDuration(e.windowMs)}`;
      return page
        ? `restart breaker open for ${e.service} (${restarts})`
        : `restart breaker open for ${e.service}: ${restarts}`;
    }
    case 'procedure': {
      const line = `${e.action} ${e.services.join(', ')} by ${e.by}: ${e.outcome}`;
      return page ? line : e.detail ? `${line}: ${e.detail}` : line;
    }
    case 'note':
      return page ? undefined : `note by ${e.by}: ${e.text}`;
    case 'checklist': {
      const line = `checklist: ${e.step} done by ${e.by}`;
      return page ? line : e.note ? `${line}: ${e.note}` : line;
    }
    case 'resolved':
      return page ? undefined : `resolved by ${e.by}: ${e.resolution}`;
    case 'sla-breached': {
      if (page) return `response SLA breached (due ${formatInstant(e.dueAt)})`;
      const late = e.at - e.dueAt >= 1_000 ? `, noticed ${formatDuration(e.at - e.dueAt)} later` : '';
      const escalated = e.level === undefined ? '' : `; escalated to level ${e.level}`;
      return `${e.severity} response SLA breached: not acknowledged by ${formatInstant(e.dueAt)}${late}${escalated}`;
    }
  }
}
