// Byte sizes of text as it goes out: what reply bounds are measured in.
// A character count is not a size: JSON turns one control character into
// six bytes (`\u0001`), and UTF-8 takes up to four bytes per character.

/**
 * The UTF-8 length of `text`, without encoding it. A lone surrogate counts
 * as the three bytes of the U+FFFD that replaces it.
 *
 * @param text Any string.
 * @returns Its size in UTF-8 bytes.
 */
export function utf8Bytes(text: string): number {
  let bytes = text.length; // one per code unit, plus what more some need
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 2; // a pair: two code units, four bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * The size of `value` serialized with `JSON.stringify`, in UTF-8 bytes:
 * exactly what a JSON line carrying it spends on it.
 *
 * @param value Any JSON value (a string is measured with its quotes).
 * @returns Its serialized size in bytes.
 */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value));
}
