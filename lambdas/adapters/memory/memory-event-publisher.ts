import type { ControlPlaneEvent } from '../../core/events.ts';
import type { EventPublisher } from '../../ports.ts';

/** Keeps published events in memory: for tests and one-shot commands. */
export class MemoryEventPublisher implements EventPublisher {
  readonly published: ControlPlaneEvent[] = [];
  async publish(events: readonly ControlPlaneEvent[]): Promise<void> {
    this.published.push(...structuredClone([...events]));
  }
}
