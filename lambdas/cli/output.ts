/** Pretty JSON with a trailing newline, for machine-readable command output. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
