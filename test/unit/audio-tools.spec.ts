import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TranscriptionSettings } from '../../src/config/settings.js';
import { AudioTools, inputArgs } from '../../src/transcription/recording/audio-tools.js';
import { wavTone } from '../support/audio.js';

const dir = mkdtempSync(join(tmpdir(), 'vi-tools-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const tools = new AudioTools({ ffmpegPath: 'ffmpeg' } as TranscriptionSettings);
const never = new AbortController().signal;

describe('AudioTools input', () => {
  it('forces the detected container and allows only local files', () => {
    expect(inputArgs('/w/source.webm', 'webm')).toEqual([
      '-protocol_whitelist',
      'file,pipe',
      '-f',
      'matroska',
      '-i',
      '/w/source.webm',
    ]);
    expect(inputArgs('/w/a', 'm4a')).toContain('mov');
    expect(() => inputArgs('/w/a', 'bin')).toThrow(/cannot be processed/);
  });

  it('never follows a concat list or a playlist stored as a recording', async () => {
    writeFileSync(join(dir, 'other.wav'), wavTone(1, 500));
    // ffmpeg left to guess reads this as a concat list and encodes other.wav
    writeFileSync(join(dir, 'source.wav'), 'ffconcat version 1.0\nfile other.wav\n');
    await expect(
      tools.compress(join(dir, 'source.wav'), 'wav', join(dir, 'out.ogg'), never, () => undefined),
    ).rejects.toMatchObject({
      name: 'TranscriptionFailure',
      message: 'ffmpeg could not read the recording as audio; upload it again in another format.',
    });
    writeFileSync(join(dir, 'list.mp3'), '#EXTM3U\n#EXTINF:1,\nhttp://169.254.169.254/latest/meta-data\n');
    await expect(
      tools.compress(join(dir, 'list.mp3'), 'mp3', join(dir, 'out.ogg'), never, () => undefined),
    ).rejects.toMatchObject({
      name: 'TranscriptionFailure',
    });
    await expect(tools.durationSeconds(join(dir, 'source.wav'), 'wav', never)).rejects.toMatchObject({
      name: 'TranscriptionFailure',
    });
  });

  it('still reads a real recording as its container, and hands the same decode over as 16 kHz PCM', async () => {
    writeFileSync(join(dir, 'real.wav'), wavTone(1, 440));
    let samples = 0;
    await tools.compress(join(dir, 'real.wav'), 'wav', join(dir, 'real.ogg'), never, (pcm) => (samples += pcm.length));
    expect(samples).toBe(16_000);
    expect(await tools.durationSeconds(join(dir, 'real.ogg'), 'ogg', never)).toBeCloseTo(1, 0);
    expect(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'format=format_name',
        '-of',
        'csv=p=0',
        join(dir, 'real.ogg'),
      ])
        .toString()
        .trim(),
    ).toBe('ogg');
  });
});
