/**
 * Whether the first bytes of an upload really are the container its signature says: a signature
 * (four magic bytes, an ID3 tag header) is easy to put in front of anything. Each check parses
 * the container's first structure after any tag: an MPEG audio frame followed by another, a RIFF
 * `fmt ` chunk, FLAC's STREAMINFO, an Ogg page carrying a codec header, a WebM EBML header with its
 * doc type followed by a Segment, an MP4 `ftyp` followed by another top-level box. `head` is the
 * whole file or its first AUDIO_SNIFF_BYTES.
 */
export function hasAudioStructure(extension: string, head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  switch (extension) {
    case 'mp3':
      return isMp3(head);
    case 'wav':
      return isWav(head, view);
    case 'flac':
      return isFlac(head, 0);
    case 'ogg':
      return isOgg(head);
    case 'webm':
      return isWebm(head);
    case 'm4a':
    case 'mp4':
      return isMp4(head, view);
    default:
      return false;
  }
}

const ascii = (bytes: Uint8Array, at: number, length: number) =>
  at + length <= bytes.length ? String.fromCharCode(...bytes.subarray(at, at + length)) : '';

/* MPEG audio: bitrates (kbit/s) by version and layer, sample rates by version. */
const BITRATES: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG 1
  2: [22050, 24000, 16000], // MPEG 2
  0: [11025, 12000, 8000], // MPEG 2.5
};

/** The length of the MPEG audio frame whose header is at `at`, or 0 when none is there. */
function mpegFrameLength(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1] & 0xe0) !== 0xe0) return 0;
  const version = (bytes[at + 1] >> 3) & 3;
  const layer = (bytes[at + 1] >> 1) & 3;
  const bitrateIndex = bytes[at + 2] >> 4;
  const rateIndex = (bytes[at + 2] >> 2) & 3;
  const padding = (bytes[at + 2] >> 1) & 1;
  if (version === 1 || layer === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return 0;
  const layerNumber = 4 - layer;
  const table = version === 3 ? `1-${layerNumber}` : layerNumber === 1 ? '2-1' : '2-2';
  const bitrate = BITRATES[table][bitrateIndex] * 1000;
  const rate = SAMPLE_RATES[version][rateIndex];
  if (layerNumber === 1) return (Math.floor((12 * bitrate) / rate) + padding) * 4;
  const perFrame = layerNumber === 3 && version !== 3 ? 72 : 144;
  return Math.floor((perFrame * bitrate) / rate) + padding;
}

/**
 * Where the ID3v2 tags at the start of `bytes` end (0 if it does not begin with one), as far as
 * their headers are within `bytes`: a tag header past the end counts as ending 10 bytes later, so
 * that a caller holding more bytes asks again. -1 for a tag header that is not one.
 */
export function id3TagsEnd(bytes: Uint8Array): number {
  let at = 0;
  while (ascii(bytes, at, 3) === 'ID3') {
    if (at + 10 > bytes.length) return at + 10;
    const size = bytes.subarray(at + 6, at + 10);
    if (size.some((b) => b & 0x80)) return -1; // a tag size is four 7-bit bytes
    const footer = bytes[at + 5] & 0x10 ? 10 : 0;
    at += 10 + footer + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3]);
  }
  return at;
}

/** ID3v2 tags (any number), then a frame whose successor, when within `head`, is a frame too. */
function isMp3(bytes: Uint8Array): boolean {
  const tagsEnd = id3TagsEnd(bytes);
  if (tagsEnd < 0 || tagsEnd > bytes.length) return false;
  let at = tagsEnd;
  // some encoders pad the tag with zeros beyond its declared size
  while (at < bytes.length && bytes[at] === 0 && at < tagsEnd + 64 * 1024) at++;
  const length = mpegFrameLength(bytes, at);
  if (length === 0) return false;
  const next = at + length;
  // a file of one frame ends with it; otherwise the next frame must parse as well
  return next + 4 > bytes.length ? next === bytes.length : mpegFrameLength(bytes, next) > 0;
}

/** RIFF/WAVE with a plausible `fmt ` chunk among its first chunks. */
function isWav(bytes: Uint8Array, view: DataView): boolean {
  if (ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WAVE') return false;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = ascii(bytes, at, 4);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      if (size < 16 || at + 24 > bytes.length) return false;
      const channels = view.getUint16(at + 10, true);
      const rate = view.getUint32(at + 12, true);
      const bits = view.getUint16(at + 22, true);
      return channels >= 1 && channels <= 16 && rate >= 1000 && rate <= 768_000 && bits > 0 && bits <= 64;
    }
    if (!/^[\x20-\x7e]{4}$/.test(id)) return false;
    at += 8 + size + (size & 1);
  }
  return false;
}

/** "fLaC" and a STREAMINFO block (type 0, 34 bytes) with a sample rate and sane block sizes. */
function isFlac(bytes: Uint8Array, at: number): boolean {
  if (ascii(bytes, at, 4) !== 'fLaC' || at + 8 + 34 > bytes.length) return false;
  const type = bytes[at + 4] & 0x7f;
  const length = (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7];
  const info = at + 8;
  const minBlock = (bytes[info] << 8) | bytes[info + 1];
  const maxBlock = (bytes[info + 2] << 8) | bytes[info + 3];
  const rate = (bytes[info + 10] << 12) | (bytes[info + 11] << 4) | (bytes[info + 12] >> 4);
  return type === 0 && length === 34 && minBlock >= 16 && maxBlock >= minBlock && rate > 0 && rate <= 655_350;
}

/** A first Ogg page (version 0, beginning of stream) whose first packet is a codec's header. */
function isOgg(bytes: Uint8Array): boolean {
  if (ascii(bytes, 0, 4) !== 'OggS' || bytes.length < 27 || bytes[4] !== 0 || !(bytes[5] & 0x02)) return false;
  const segments = bytes[26];
  const packet = 27 + segments;
  if (packet + 8 > bytes.length) return false;
  return (
    ascii(bytes, packet, 8) === 'OpusHead' ||
    ascii(bytes, packet, 7) === '\x01vorbis' ||
    ascii(bytes, packet, 8) === 'Speex   ' ||
    ascii(bytes, packet, 5) === '\x7fFLAC'
  );
}

/** An EBML variable-length integer at `at`: its value and length, or undefined. */
function vint(bytes: Uint8Array, at: number, keepMarker = false): { value: number; length: number } | undefined {
  const first = bytes[at];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (length > 8 || at + length > bytes.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + bytes[at + i];
  return { value, length };
}

/** An EBML header whose DocType is webm or matroska, followed by a Segment element. */
function isWebm(bytes: Uint8Array): boolean {
  const id = vint(bytes, 0, true);
  if (!id || id.value !== 0x1a45dfa3) return false;
  const size = vint(bytes, id.length);
  if (!size || size.value > 4096) return false;
  const body = id.length + size.length;
  const end = body + size.value;
  if (end + 4 > bytes.length) return false;
  let docType = '';
  for (let at = body; at < end;) {
    const child = vint(bytes, at, true);
    const childSize = child && vint(bytes, at + child.length);
    if (!child || !childSize) return false;
    const data = at + child.length + childSize.length;
    if (child.value === 0x4282) docType = ascii(bytes, data, childSize.value);
    at = data + childSize.value;
    if (at > end) return false;
  }
  const segment = vint(bytes, end, true);
  return (docType === 'webm' || docType === 'matroska') && segment?.value === 0x18538067;
}

const MP4_BOXES = new Set(['moov', 'mdat', 'free', 'skip', 'wide', 'uuid', 'moof', 'styp', 'sidx', 'meta', 'pdin']);

/** An `ftyp` box at the start, followed by a known top-level box. */
function isMp4(bytes: Uint8Array, view: DataView): boolean {
  if (bytes.length < 16 || ascii(bytes, 4, 4) !== 'ftyp') return false;
  const ftypSize = view.getUint32(0);
  if (ftypSize < 16 || ftypSize > 4096 || ftypSize + 8 > bytes.length) return false;
  const next = ascii(bytes, ftypSize + 4, 4);
  const nextSize = view.getUint32(ftypSize);
  return MP4_BOXES.has(next) && (nextSize === 0 || nextSize === 1 || nextSize >= 8);
}
