/** `raw` parsed as a JSON object; undefined when it is not JSON, or JSON of another kind (array, string, number...). */
export function jsonObject(raw: string): Record<string, unknown> | undefined {
  if (!raw.trimStart().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
