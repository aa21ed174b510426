import { SAMPLE_RATE } from './voice-activity.js';

/** A WAV this reader does not decode (a rare encoding): ffmpeg decodes it instead. */
export class UnsupportedWav extends Error {}

const EMPTY = Buffer.alloc(0);

/** The RIFF chunks before the samples (format, metadata, tags) may take at most this much. */
const MAX_HEADER_BYTES = 1024 * 1024;

interface WavFormat {
  channels: number;
  rate: number;
  /** Bytes per sample of one channel. */
  width: 1 | 2 | 3 | 4;
  float: boolean;
  blockAlign: number;
}

/**
 * Decodes a WAV file as it streams in (PCM of 8, 16, 24 or 32 bits, or 32-bit float, any rate and
 * channel count) into 16 kHz mono 16-bit samples for the speech detector: channels averaged, the
 * rate changed by averaging (down) or interpolating (up). Holds one partial frame, never the file.
 */
export class WavPcmReader {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private format?: WavFormat;
  /** Bytes of the data chunk still to come (Infinity when the writer left the size open). */
  private dataLeft = 0;
  private carry: Buffer = EMPTY;
  private out = new Int16Array(0);
  private inputIndex = 0;
  // downsampling: the running sum of the output sample being built
  private sum = 0;
  private count = 0;
  private outIndex = 0;
  // upsampling: the previous input sample and the next output position, in input samples
  private previous = 0;
  private nextOut = 0;

  /** `onSamples` must use the samples before it returns: their memory is reused for the next chunk. */
  constructor(private readonly onSamples: (samples: Int16Array) => void) {}

  write(chunk: Buffer): void {
    if (!this.format) {
      this.header.push(chunk);
      this.headerBytes += chunk.length;
      const rest = this.parseHeader(Buffer.concat(this.header));
      if (rest === undefined) {
        if (this.headerBytes > MAX_HEADER_BYTES) throw new UnsupportedWav('no audio data in the first megabyte');
        this.header = [Buffer.concat(this.header)];
        return;
      }
      this.header = [];
      chunk = rest;
    }
    if (this.dataLeft <= 0) return;
    const take = Math.min(chunk.length, this.dataLeft);
    this.dataLeft -= take;
    this.samples(chunk.subarray(0, take));
  }

  /** The format, then the bytes after the data chunk's header; undefined while more header is needed. */
  private parseHeader(buffer: Buffer): Buffer | undefined {
    if (buffer.length < 12) return undefined;
    if (buffer.toString('latin1', 0, 4) !== 'RIFF' || buffer.toString('latin1', 8, 12) !== 'WAVE') {
      throw new UnsupportedWav('not a RIFF WAVE file');
    }
    let at = 12;
    let format: WavFormat | undefined;
    while (at + 8 <= buffer.length) {
      const id = buffer.toString('latin1', at, at + 4);
      const size = buffer.readUInt32LE(at + 4);
      if (id === 'data') {
        if (!format) throw new UnsupportedWav('the data chunk comes before the format chunk');
        this.format = format;
        // 0 and 0xFFFFFFFF are what streaming writers leave when they cannot go back to fix it
        this.dataLeft = size === 0 || size === 0xffffffff ? Infinity : size;
        return buffer.subarray(at + 8);
      }
      if (at + 8 + size > buffer.length) return undefined;
      if (id === 'fmt ') format = readFormat(buffer.subarray(at + 8, at + 8 + size));
      at += 8 + size + (size % 2);
    }
    return undefined;
  }

  private samples(bytes: Buffer): void {
    const f = this.format!;
    const data = this.carry.length ? Buffer.concat([this.carry, bytes]) : bytes;
    const frames = Math.floor(data.length / f.blockAlign);
    const rest = data.length - frames * f.blockAlign;
    this.carry = rest ? Buffer.from(data.subarray(frames * f.blockAlign)) : EMPTY;
    if (frames === 0) return;
    // the common case (16-bit mono at 16 kHz) is handed over as it is, or copied once when unaligned
    if (f.rate === SAMPLE_RATE && f.channels === 1 && f.width === 2 && !f.float) {
      if (data.byteOffset % 2 === 0) {
        this.onSamples(new Int16Array(data.buffer, data.byteOffset, frames));
      } else {
        const out = this.scratch(frames);
        for (let i = 0; i < frames; i++) out[i] = data.readInt16LE(i * 2);
        this.onSamples(out.subarray(0, frames));
      }
      return;
    }
    const out = this.scratch(Math.ceil((frames * SAMPLE_RATE) / f.rate) + 2);
    let count = 0;
    const emit = (value: number) => (out[count++] = toInt16(value));
    for (let i = 0; i < frames; i++) {
      let value = 0;
      for (let c = 0; c < f.channels; c++) value += readSample(data, i * f.blockAlign + c * f.width, f);
      this.resample(value / f.channels, emit);
    }
    if (count > 0) this.onSamples(out.subarray(0, count));
  }

  /**
   * One output buffer, reused for every chunk (the samples handed over are read before the next
   * chunk comes): a recording of hours allocates it a few times, not once per chunk.
   */
  private scratch(length: number): Int16Array {
    if (this.out.length < length) this.out = new Int16Array(Math.max(length, this.out.length * 2));
    return this.out;
  }

  /** Adds one input sample (full scale ±1) and emits the output samples it completes. */
  private resample(value: number, emit: (value: number) => void): void {
    const rate = this.format!.rate;
    if (rate === SAMPLE_RATE) {
      emit(value);
    } else if (rate > SAMPLE_RATE) {
      const index = Math.floor((this.inputIndex * SAMPLE_RATE) / rate);
      if (index !== this.outIndex && this.count > 0) {
        emit(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
      }
      this.outIndex = index;
      this.sum += value;
      this.count++;
    } else {
      const step = rate / SAMPLE_RATE;
      while (this.nextOut <= this.inputIndex) {
        const t = this.nextOut - (this.inputIndex - 1);
        emit(this.previous + (value - this.previous) * Math.max(0, t));
        this.nextOut += step;
      }
      this.previous = value;
    }
    this.inputIndex++;
  }
}

function toInt16(value: number): number {
  const v = Math.round(value * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

function readSample(data: Buffer, at: number, f: WavFormat): number {
  if (f.float) return data.readFloatLE(at);
  switch (f.width) {
    case 1:
      return (data[at] - 128) / 128;
    case 2:
      return data.readInt16LE(at) / 32768;
    case 3:
      return data.readIntLE(at, 3) / 8388608;
    default:
      return data.readInt32LE(at) / 2147483648;
  }
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

function readFormat(chunk: Buffer): WavFormat {
  if (chunk.length < 16) throw new UnsupportedWav('a format chunk shorter than 16 bytes');
  let tag = chunk.readUInt16LE(0);
  const channels = chunk.readUInt16LE(2);
  const rate = chunk.readUInt32LE(4);
  const blockAlign = chunk.readUInt16LE(12);
  const bits = chunk.readUInt16LE(14);
  // WAVE_FORMAT_EXTENSIBLE names the real encoding in the first two bytes of its sub-format GUID
  if (tag === EXTENSIBLE && chunk.length >= 26) tag = chunk.readUInt16LE(24);
  const width = bits / 8;
  const float = tag === IEEE_FLOAT;
  const known = (tag === PCM && [1, 2, 3, 4].includes(width)) || (float && width === 4);
  if (!known || channels < 1 || rate < 4000 || rate > 384_000 || blockAlign !== channels * width) {
    throw new UnsupportedWav(`format ${tag}, ${bits} bits, ${channels} channels at ${rate} Hz`);
  }
  return { channels, rate, width: width as WavFormat['width'], float, blockAlign };
}
