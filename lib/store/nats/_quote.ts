// Quoting of untrusted text (env values, remote URLs, server errors) for
// one-line error messages: a value must not be able to end the line, move
// the cursor or recolour a terminal, and a huge one must not flood it.

const MAX_SHOWN = 200;
// deno-lint-ignore no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/** Whether `text` holds a control character (C0, DEL, C1, U+2028/9). */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  return CONTROL.test(text);
}

/**
 * `'text'` with every control character (C0, DEL, C1, line and paragraph
 * separators) written as `\xNN`/`\uNNNN`, cut to 200 characters.
 */
export function quote(text: string): string {
  return `'${printable(text)}'`;
}

/** `text` made safe for one line, without the quotes. */
export function printable(text: string): string {
  const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return cut.replace(
    CONTROL,
    (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    },
  );
}
