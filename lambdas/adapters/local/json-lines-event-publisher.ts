import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ControlPlaneEvent, EVENT_SOURCE } from '../../core/events.ts';
import type { EventPublisher } from '../../ports.ts';

/** The single-host event bus: one JSON object a line, in EventBridge's shape, appended to a file. */
export class JsonLinesEventPublisher implements EventPublisher {
  constructor(private readonly file: string) {}
  async publish(events: readonly ControlPlaneEvent[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const lines = events.map((e) =>
      JSON.stringify({ source: EVENT_SOURCE, 'detail-type': e.detailType, detail: e.detail }),
    );
    await appendFile(this.file, `${lines.join('\n')}\n`, { mode: 0o600 });
  }
}
