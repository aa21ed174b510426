import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detectAudioFormat } from '../../src/answers/intake/audio-format.js';
import { encodedTone, wavTone } from '../support/audio.js';

/** An ID3v2.4 tag header declaring `size` bytes of tag (four 7-bit bytes). */
function id3Header(size: number): Buffer {
  return Buffer.from([
    0x49,
    0x44,
    0x33,
    4,
    0,
    0,
    (size >> 21) & 0x7f,
    (size >> 14) & 0x7f,
    (size >> 7) & 0x7f,
    size & 0x7f,
  ]);
}

const junk = (bytes: number) => randomBytes(bytes).map((b) => (b === 0xff ? 0xfe : b));

describe('detectAudioFormat', () => {
  it.each([
    ['webm', 'webm'],
    ['ogg', 'ogg'],
    ['mp3', 'mp3'],
    ['m4a', 'm4a'],
    ['flac', 'flac'],
  ] as const)('recognises real %s', async (format, extension) => {
    const bytes = encodedTone(format);
    expect(await detectAudioFormat(bytes)).toMatchObject({ extension });
    expect(await detectAudioFormat(bytes.subarray(0, 64 * 1024))).toMatchObject({ extension });
  });

  it('recognises real wav', async () => {
    expect(await detectAudioFormat(wavTone(0.2))).toMatchObject({ extension: 'wav' });
  });

  it('refuses an ID3 tag header declaring a long tag, whatever follows (it is not an mp3)', async () => {
    expect(await detectAudioFormat(Buffer.concat([id3Header(10 * 1024 * 1024), junk(64 * 1024)]))).toBeNull();
    expect(await detectAudioFormat(Buffer.concat([id3Header(100), junk(100), junk(4000)]))).toBeNull();
    expect(
      await detectAudioFormat(Buffer.concat([id3Header(16), Buffer.alloc(16), Buffer.from('#EXTM3U\n')])),
    ).toBeNull();
  });

  it("refuses each container's signature followed by anything else", async () => {
    const real = {
      webm: encodedTone('webm'),
      ogg: encodedTone('ogg'),
      m4a: encodedTone('m4a'),
      flac: encodedTone('flac'),
      wav: wavTone(0.2),
    };
    // the magic bytes each detector keys on, then noise
    const signatures: Record<string, Buffer> = {
      webm: real.webm.subarray(0, 4),
      ogg: real.ogg.subarray(0, 4),
      m4a: real.m4a.subarray(0, 12),
      flac: real.flac.subarray(0, 4),
      wav: real.wav.subarray(0, 12),
    };
    for (const [format, signature] of Object.entries(signatures)) {
      const forged = Buffer.concat([signature, junk(8 * 1024)]);
      expect({ format, detected: await detectAudioFormat(forged) }).toEqual({ format, detected: null });
    }
    // a concat list or playlist behind a RIFF header
    const riff = Buffer.concat([
      Buffer.from('RIFF\x00\x10\x00\x00WAVE', 'latin1'),
      Buffer.from('ffconcat version 1.0\nfile http://x/\n'),
    ]);
    expect(await detectAudioFormat(riff)).toBeNull();
  });
});
