import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DETECTOR, VoiceActivityDetector } from '../../src/transcription/speech/voice-activity.js';
import { UnsupportedWav, WavPcmReader } from '../../src/transcription/speech/wav-pcm.js';
import { WebRtcVadEngine } from '../../src/transcription/speech/webrtc-vad.js';
import { wavTone } from '../support/audio.js';

const engine = new WebRtcVadEngine();
beforeAll(() => engine.onModuleInit());

/** 16 kHz mono samples of a WAV made by wavTone (44-byte header). */
const samplesOf = (wav: Buffer) => new Int16Array(Uint8Array.prototype.slice.call(wav, 44).buffer);
const silence = (seconds: number) => new Int16Array(Math.round(seconds * 16_000));
const sine = (seconds: number, hz: number) =>
  Int16Array.from({ length: Math.round(seconds * 16_000) }, (_, i) =>
    Math.round(Math.sin((2 * Math.PI * hz * i) / 16_000) * 12_000),
  );

function heard(...parts: Int16Array[]) {
  const detector = new VoiceActivityDetector(engine.open(3));
  try {
    // pushed in odd slices: frames are cut where the detector wants, not where the caller does
    for (const part of parts) for (let at = 0; at < part.length; at += 777) detector.push(part.subarray(at, at + 777));
    return detector.finish();
  } finally {
    detector.dispose();
  }
}

describe('VoiceActivityDetector', () => {
  it('finds a voice, the pause inside it, and no pause in the leading or trailing silence', () => {
    const voice = samplesOf(wavTone(2, 300));
    const { measure, segments, silences } = heard(silence(1), voice, silence(1.5), voice, silence(0.8));
    expect(measure.duration_seconds).toBe(7.3);
    expect(segments).toHaveLength(2);
    expect(Math.abs(segments[0].start - 1)).toBeLessThanOrEqual(0.1);
    expect(measure.pauses).toHaveLength(1);
    const pause = measure.pauses[0];
    expect(Math.abs(pause.end - pause.start - 1.5)).toBeLessThanOrEqual(0.15);
    expect(Math.abs(measure.speech_seconds - 4)).toBeLessThanOrEqual(0.25);
    expect(silences[0].start).toBe(0);
    expect(silences.at(-1)!.end).toBe(7.3);
  });

  it('hears nothing in digital silence or in a steady tone (a beep is not a voice)', () => {
    expect(heard(silence(3)).measure).toEqual({ duration_seconds: 3, speech_seconds: 0, pauses: [] });
    expect(heard(sine(3, 440)).measure.speech_seconds).toBeLessThan(0.2);
  });

  it('takes a quieter voice under the candidate for the room, not for more speech', () => {
    const voice = samplesOf(wavTone(2, 300));
    const far = samplesOf(wavTone(1.5, 777)).map((v) => Math.round(v / 10)); // 20 dB down
    const { measure } = heard(voice, far, voice);
    expect(measure.pauses).toHaveLength(1);
    expect(Math.abs(measure.pauses[0].end - measure.pauses[0].start - 1.5)).toBeLessThanOrEqual(0.15);
  });

  it('bridges gaps between words shorter than a pause', () => {
    const word = samplesOf(wavTone(0.4, 300));
    const { measure } = heard(word, silence(0.15), word, silence(0.2), word);
    expect(measure.pauses).toEqual([]);
    expect(measure.speech_seconds).toBeGreaterThan(1.3);
    expect(DEFAULT_DETECTOR.min_pause_seconds).toBe(0.25);
  });
});

describe('WavPcmReader', () => {
  function wav(format: number, bits: number, channels: number, rate: number, data: Buffer, extensible = false): Buffer {
    const fmt = Buffer.alloc(extensible ? 40 : 16);
    fmt.writeUInt16LE(extensible ? 0xfffe : format, 0);
    fmt.writeUInt16LE(channels, 2);
    fmt.writeUInt32LE(rate, 4);
    fmt.writeUInt32LE((rate * channels * bits) / 8, 8);
    fmt.writeUInt16LE((channels * bits) / 8, 12);
    fmt.writeUInt16LE(bits, 14);
    if (extensible) {
      fmt.writeUInt16LE(22, 16);
      fmt.writeUInt16LE(format, 24);
    }
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]);
    const chunks = [Buffer.from('fmt '), u32(fmt.length), fmt, list, Buffer.from('data'), u32(data.length), data];
    const body = Buffer.concat(chunks);
    return Buffer.concat([Buffer.from('RIFF'), u32(body.length + 4), Buffer.from('WAVE'), body]);
  }
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  function read(file: Buffer, slice = 1): number[] {
    const out: number[] = [];
    const reader = new WavPcmReader((s) => out.push(...s));
    for (let at = 0; at < file.length; at += slice) reader.write(file.subarray(at, at + slice));
    return out;
  }

  it('reads 16-bit mono at 16 kHz as it is, in any slices, past other chunks', () => {
    const data = Buffer.alloc(8);
    [100, -200, 32767, -32768].forEach((v, i) => data.writeInt16LE(v, i * 2));
    expect(read(wav(1, 16, 1, 16_000, data), 3)).toEqual([100, -200, 32767, -32768]);
  });

  it('averages channels, reads 8-, 24-bit and float samples and WAVE_FORMAT_EXTENSIBLE', () => {
    const stereo = Buffer.alloc(8);
    [1000, 3000, -1000, -3000].forEach((v, i) => stereo.writeInt16LE(v, i * 2));
    expect(read(wav(1, 16, 2, 16_000, stereo), 5)).toEqual([2000, -2000]);
    expect(read(wav(1, 8, 1, 16_000, Buffer.from([128, 192, 64])))).toEqual([0, 16384, -16384]);
    const s24 = Buffer.alloc(6);
    s24.writeIntLE(4_194_304, 0, 3);
    s24.writeIntLE(-8_388_608, 3, 3);
    expect(read(wav(1, 24, 1, 16_000, s24, true), 2)).toEqual([16384, -32768]);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.5, 0);
    f32.writeFloatLE(-2, 4);
    expect(read(wav(3, 32, 1, 16_000, f32))).toEqual([16384, -32768]);
  });

  it('changes 48 kHz and 44.1 kHz to 16 kHz by averaging, and 8 kHz by interpolating', () => {
    const at48 = Buffer.alloc(48_000 * 2);
    for (let i = 0; i < 48_000; i++) at48.writeInt16LE(i % 3 === 0 ? 300 : 0, i * 2);
    const down = read(wav(1, 16, 1, 48_000, at48), 4096);
    expect(down.length).toBeGreaterThanOrEqual(15_999);
    expect(down.length).toBeLessThanOrEqual(16_000);
    expect(new Set(down.slice(0, -1))).toEqual(new Set([100]));
    const at44 = Buffer.alloc(44_100 * 2);
    expect(read(wav(1, 16, 1, 44_100, at44), 10_000).length).toBeGreaterThanOrEqual(15_999);
    const at8 = Buffer.alloc(8);
    [0, 1000, 2000, 3000].forEach((v, i) => at8.writeInt16LE(v, i * 2));
    expect(read(wav(1, 16, 1, 8_000, at8))).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
  });

  it('refuses what it does not decode, for ffmpeg to decode instead', () => {
    expect(() => read(Buffer.from('OggS\0\0\0\0\0\0\0\0\0\0'))).toThrow(UnsupportedWav);
    expect(() => read(wav(6, 8, 1, 8_000, Buffer.alloc(8)))).toThrow(UnsupportedWav); // A-law
    expect(() => read(wav(3, 64, 1, 16_000, Buffer.alloc(16)))).toThrow(UnsupportedWav);
  });
});
