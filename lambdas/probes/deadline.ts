/**
 * A hard deadline around one unit of async work. The work receives an AbortSignal that fires when the deadline
 * passes (or the parent signal aborts); it must release its sockets on abort. Whatever the work does afterwards
 * (resolve late, reject, never settle) is ignored: the caller gets exactly one answer, no later than the deadline,
 * and no timer or listener is left behind.
 */
export interface DeadlineHandlers<T> {
  /** The answer when the deadline passes (or the parent aborts) before the work settles. */
  readonly onTimeout: () => T;
  /** The answer when the work throws or rejects. */
  readonly onError: (error: unknown) => T;
}

export function runWithDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  handlers: DeadlineHandlers<T>,
  parent?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve) => {
    const controller = new AbortController();
    let settled = false;

    const finish = (answer: () => T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      parent?.removeEventListener('abort', expire);
      resolve(answer());
    };
    function expire() {
      if (settled) return;
      finish(handlers.onTimeout);
      // Abort after settling, so the work's reaction to the abort (usually a rejection) is ignored.
      controller.abort();
    }

    const timer = setTimeout(expire, timeoutMs);
    if (parent?.aborted) {
      expire();
      return;
    }
    parent?.addEventListener('abort', expire, { once: true });

    let running: Promise<T>;
    try {
      running = work(controller.signal);
    } catch (error) {
      finish(() => handlers.onError(error));
      return;
    }
    running.then(
      (value) => finish(() => value),
      (error: unknown) => finish(() => handlers.onError(error)),
    );
  });
}
