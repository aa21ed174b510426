import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AUDIO_SNIFF_BYTES,
  MAX_TAGGED_HEAD_BYTES,
  TAGS_TOO_LARGE,
  audioSniffBytes,
  detectAudioFormat,
} from '../../src/answers/intake/audio-format.js';
import { AudioGate } from '../../src/answers/intake/audio-gate.js';
import { encodedTone, id3TagHeader, wavTone } from '../support/audio.js';

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
    expect(await detectAudioFormat(Buffer.concat([id3TagHeader(10 * 1024 * 1024), junk(64 * 1024)]))).toBeNull();
    expect(await detectAudioFormat(Buffer.concat([id3TagHeader(100), junk(100), junk(4000)]))).toBeNull();
    expect(
      await detectAudioFormat(Buffer.concat([id3TagHeader(16), Buffer.alloc(16), Buffer.from('#EXTM3U\n')])),
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

  it('looks past an ID3 tag larger than the sniff window (cover art) to the first frames', async () => {
    const picture = 300 * 1024;
    const tagged = Buffer.concat([id3TagHeader(picture), junk(picture), encodedTone('mp3')]);
    expect(audioSniffBytes(tagged.subarray(0, 10))).toBe(10 + picture + AUDIO_SNIFF_BYTES);
    expect(await detectAudioFormat(tagged.subarray(0, audioSniffBytes(tagged)))).toMatchObject({ extension: 'mp3' });
    // the same picture in front of noise is still not an mp3
    const forged = Buffer.concat([id3TagHeader(picture), junk(picture), junk(8 * 1024)]);
    expect(await detectAudioFormat(forged.subarray(0, audioSniffBytes(forged)))).toBeNull();
    expect(audioSniffBytes(id3TagHeader(MAX_TAGGED_HEAD_BYTES + 1))).toBe(Infinity);
    expect(audioSniffBytes(encodedTone('webm'))).toBe(AUDIO_SNIFF_BYTES);
  });

  it('lets a tagged mp3 through the upload gate unchanged, in small chunks, and refuses tags over the limit', async () => {
    const picture = 200 * 1024;
    const tagged = Buffer.concat([id3TagHeader(picture), junk(picture), encodedTone('mp3')]);
    const chunks = Array.from({ length: Math.ceil(tagged.length / 16_384) }, (_, i) =>
      tagged.subarray(i * 16_384, (i + 1) * 16_384),
    );
    const gate = new AudioGate(10 * 1024 * 1024);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      gate,
      new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk), done()) }),
    );
    expect(await gate.format).toMatchObject({ extension: 'mp3' });
    expect(Buffer.concat(out).equals(tagged)).toBe(true);

    const huge = new AudioGate(64 * 1024 * 1024);
    const tooLarge = Buffer.concat([id3TagHeader(MAX_TAGGED_HEAD_BYTES + 1024), junk(AUDIO_SNIFF_BYTES)]);
    await expect(
      pipeline(Readable.from([tooLarge]), huge, new Writable({ write: (_c, _e, done) => done() })),
    ).rejects.toMatchObject({ message: TAGS_TOO_LARGE, status: 400 });
  });
});
