import type { ControlPlaneEvent } from '../core/events.ts';
import type { NoticeKind, NoticeMessage } from '../core/notices.ts';
import { once } from '../core/once.ts';
import type {
  CommandRequest,
  CommandResult,
  CommandRunner,
  EventPublisher,
  Notification,
  Notifier,
  ObjectStore,
  SecretSource,
} from '../ports.ts';

/*
 * Ports whose AWS adapter (and the SDK client under it) is loaded on first use, by a dynamic import(): a Lambda bundle
 * is split at these imports (see lib/constructs/control-plane-function.ts), so a cold start compiles and runs the
 * SNS, EventBridge, SSM or Secrets Manager client only when an invocation calls it (a page, an event, a command), not
 * at every import. Each adapter is built once per Lambda instance; a failed load is not kept, the next call retries.
 */

/** An SDK client, or how to make it on first use (the cold path: its module is imported then). */
export type ClientSource<C> = C | (() => Promise<C>);

/** The client of `source`: itself, or the one its factory makes. */
export function clientOf<C>(source: ClientSource<C>): Promise<C> {
  return typeof source === 'function' ? (source as () => Promise<C>)() : Promise.resolve(source);
}

export { once } from '../core/once.ts';

export function lazyNotifier(
  deliveryTimeoutMs: number,
  noticeChannels: (kind: NoticeKind) => readonly string[],
  load: () => Promise<Notifier>,
): Notifier {
  const adapter = once(load);
  return {
    deliveryTimeoutMs,
    notify: async (notification: Notification) => (await adapter()).notify(notification),
    noticeChannels,
    sendNotice: async (channel: string, message: NoticeMessage) => (await adapter()).sendNotice(channel, message),
  };
}

export function lazyEventPublisher(load: () => Promise<EventPublisher>): EventPublisher {
  const adapter = once(load);
  return { publish: async (events: readonly ControlPlaneEvent[]) => (await adapter()).publish(events) };
}

export function lazyCommandRunner(load: () => Promise<CommandRunner>): CommandRunner {
  const adapter = once(load);
  return { run: async (request: CommandRequest): Promise<CommandResult> => (await adapter()).run(request) };
}

export function lazySecretSource(load: () => Promise<SecretSource>): SecretSource {
  const adapter = once(load);
  return { get: async (...args) => (await adapter()).get(...args) };
}

export function lazyObjectStore(load: () => Promise<ObjectStore>): ObjectStore {
  const adapter = once(load);
  return {
    put: async (...args) => (await adapter()).put(...args),
    get: async (...args) => (await adapter()).get(...args),
    head: async (...args) => (await adapter()).head(...args),
    contentSha256: async (...args) => (await adapter()).contentSha256(...args),
    list: async (...args) => (await adapter()).list(...args),
    delete: async (...args) => (await adapter()).delete(...args),
  };
}
