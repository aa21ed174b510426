/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that does not split a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text).subarray(0, Math.max(0, maxBytes));
  let end = bytes.length;
  // back off over a character cut in the middle (continuation bytes are 10xxxxxx)
  let i = end - 1;
  while (i >= 0 && (bytes[i] & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = bytes[i];
    const size = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (i + size > end) end = i;
  }
  return bytes.subarray(0, end).toString('utf8');
}
