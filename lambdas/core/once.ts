/**
 * `load` run on the first call only; its promise shared by concurrent callers; forgotten when it fails, so the next
 * call tries again. What the Lambdas' lazily loaded adapters and channels are built with.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    if (loading === undefined) {
      const attempt = load();
      loading = attempt;
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };
}
