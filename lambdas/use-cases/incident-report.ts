import { errorMessage, NotFoundError } from '../core/errors.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident } from '../core/incident.ts';
import {
  buildIncidentReport,
  type IncidentReport,
  REPORT_PREFIX,
  type ReportFormat,
  renderIncidentReportMarkdown,
} from '../core/incident-report.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';

/** Where an incident's reports are stored in `ctx.reports`: `incident-reports/<id>.md` and `.json`. */
export function reportKey(id: string, format: ReportFormat): string {
  return `${REPORT_PREFIX}${id}.${format}`;
}

/** The report of an incident as it stands now. @throws NotFoundError for an unknown id. */
export async function incidentReport(ctx: ControlPlaneContext, id: string): Promise<IncidentReport> {
  const incident = await ctx.incidents.getIncident(id);
  if (!incident) throw new NotFoundError(`incident ${id}`);
  const timeline = await ctx.incidents.getTimeline(id);
  return buildIncidentReport(incident, timeline, { rtoMs: ctx.config.recovery.rto }, ctx.clock.now());
}

export function renderReport(report: IncidentReport, format: ReportFormat): string {
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderIncidentReportMarkdown(report);
}

/**
 * Writes the incident's report (Markdown and JSON) to `ctx.reports`. Never throws: a report that cannot be written
 * must not undo or fail what resolved the incident, so the failure is logged and returned.
 * @returns the keys written, or the error.
 */
export async function writeIncidentReport(
  ctx: ControlPlaneContext,
  id: string,
): Promise<{ readonly written: readonly string[] } | { readonly error: string }> {
  const store = ctx.reports;
  if (!store) return { written: [] };
  try {
    const report = await incidentReport(ctx, id);
    const written: string[] = [];
    for (const [format, contentType] of [
      ['md', 'text/markdown; charset=utf-8'],
      ['json', 'application/json'],
    ] as const) {
      const key = reportKey(id, format);
      await store.put(key, renderReport(report, format), { contentType });
      written.push(key);
    }
    ctx.log('incident-report-written', { id, keys: written });
    return { written };
  } catch (error) {
    const message = errorMessage(error);
    ctx.log('incident-report-failed', { id, error: message });
    return { error: message };
  }
}

/**
 * What follows every resolution, whoever resolved (an operator, the probe cycle's auto-resolve, a monitor clearing
 * its problem): the Incident Resolved event, then the report. Neither can fail the resolution.
 */
export async function incidentResolved(ctx: ControlPlaneContext, incident: Incident, now: number): Promise<void> {
  await publishEvents(ctx, [{ detailType: DETAIL_TYPE.incidentResolved, detail: incidentEventDetail(incident, now) }]);
  await writeIncidentReport(ctx, incident.id);
}
