import type { Context } from 'aws-lambda';

/**
 * The exported Lambda handler: builds the real one on the first invocation of this instance (env parsed, clients
 * created: the cold start) and reuses it after. Importing a handler module therefore has no side effect, which
 * lets tests build handlers from their own runtime.
 */
export function lazyHandler<E, R>(create: () => (event: E, context: Context) => Promise<R>) {
  let instance: ((event: E, context: Context) => Promise<R>) | undefined;
  return (event: E, context: Context): Promise<R> => {
    instance ??= create();
    return instance(event, context);
  };
}
