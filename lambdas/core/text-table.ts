import { escapeControlCharacters } from './control-characters.ts';

/**
 * Columns padded to their widest cell, two spaces apart; the last column is not padded. Control characters in a
 * cell are shown escaped, so stored text cannot break the table or drive the terminal.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((row) => row.map(escapeControlCharacters));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const lines = all.map((row) =>
    header
      .map((_, column) => {
        const cell = row[column] ?? '';
        return column === header.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
      })
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
