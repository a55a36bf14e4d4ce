/*
 * Control characters in operators' text: what input refuses (core/operator-input.ts) and what output escapes. No
 * schema library here: the Lambdas' cold paths (audit entries, incident reports) escape text too.
 */

/**
 * C0 controls (ESC starts every terminal escape sequence), DEL, C1 controls (0x9b is a CSI on its own) and the
 * Unicode direction overrides and isolates, which reorder what the reader sees ("Trojan Source").
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what these are for.
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export const CONTROL_BUT_NEWLINE_AND_TAB =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what these are for.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
export const HAS_CONTROL = new RegExp(CONTROL.source);

/**
 * Shows every control character as a visible escape (`\n`, `\t`, `\x1b`, `\u202e`), so stored text can never
 * move the cursor, clear the screen, retitle the terminal or fake a line of output. For text output only.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
