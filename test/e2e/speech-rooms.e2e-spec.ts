import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SpeechCorpus } from '../support/speech-corpus.js';
import { useE2eApp } from '../support/e2e.js';

const { fake, clientFor } = useE2eApp('speech_rooms');
const alice = clientFor('alice');
const corpus = new SpeechCorpus();

const types = {
  wav: { contentType: 'audio/wav', filename: 'answer.wav' },
  mp3: { contentType: 'audio/mpeg', filename: 'answer.mp3' },
  webm: { contentType: 'audio/webm', filename: 'answer.webm' },
  m4a: { contentType: 'audio/mp4', filename: 'answer.m4a' },
};

/** Real rooms through the running service: what reaches the provider, and what the delivery view says. */
describe('speech in real rooms', () => {
  it('sends no room noise to the provider: pink, brown and white noise up to -20 dBFS peak, in every container', async () => {
    const pink = corpus.noiseOnly('pink', 6, -21);
    const recordings: Array<[string, string, keyof typeof types]> = [
      ['pink', pink, 'wav'],
      ['brown', corpus.noiseOnly('brown', 6, -20), 'wav'],
      ['white', corpus.noiseOnly('white', 6, -20), 'wav'],
      ['pinkmp3', corpus.encoded(pink, 'mp3'), 'mp3'],
      ['pinkwebm', corpus.encoded(pink, 'webm'), 'webm'],
      ['pinkm4a', corpus.encoded(pink, 'm4a'), 'm4a'],
    ];
    const sessionId = await alice.newSession(recordings.map(([q]) => q));
    for (const [q, file, format] of recordings) {
      expect((await alice.upload(sessionId, q, readFileSync(file), types[format])).status).toBe(202);
    }
    for (const [q] of recordings) {
      expect(await alice.waitForAnswer(sessionId, q)).toMatchObject({
        status: 'completed',
        transcript: '',
        no_speech: true,
        delivery: expect.objectContaining({
          status: 'no_speech',
          measured_by: expect.objectContaining({ name: 'webrtc-vad' }),
        }),
      });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('finds a 2.4 s pause under a laptop fan, so pace is over speaking time, and says how it found it', async () => {
    const level = -23;
    const spoken = corpus.spoken(
      ['Idempotent requests can be retried safely.', 'GridFS stores files in chunks.'],
      { voice: 'en-us', wpm: 160 },
      [2.4],
      level,
    );
    // pink noise about 17 dB below the speech, as a fan under a laptop's microphone
    const fan = corpus.mixed(spoken.file, level, 'pink', 17);
    const quiet = corpus.spoken(['I would write the test first.'], { voice: 'en+f3', wpm: 150 }, [], -35);
    const sessionId = await alice.newSession(['fan', 'quiet']);
    expect((await alice.upload(sessionId, 'fan', readFileSync(fan), types.wav)).status).toBe(202);
    expect((await alice.upload(sessionId, 'quiet', readFileSync(quiet.file), types.wav)).status).toBe(202);

    const done = await alice.waitForAnswer(sessionId, 'fan');
    expect(done.status).toBe('completed');
    expect(done.no_speech).toBeUndefined();
    const [first, second] = spoken.phrases;
    const truePause = second.start - first.end;
    expect(done.delivery).toMatchObject({ status: 'measured', pause_count: 1, pause_threshold_seconds: 1 });
    expect(Math.abs(done.delivery.longest_pause_seconds - truePause)).toBeLessThanOrEqual(0.3);
    const truthSpeaking = second.end - first.start - truePause;
    expect(Math.abs(done.delivery.speaking_seconds / truthSpeaking - 1)).toBeLessThanOrEqual(0.1);
    expect(done.delivery.speaking_seconds).toBeLessThan(done.delivery.duration_seconds - 2);
    expect(done.delivery.measured_by).toEqual({
      name: 'webrtc-vad',
      mode: 3,
      high_pass_hz: 200,
      level_gate_db: 14,
      noise_margin_db: 4,
      min_speech_seconds: 0.09,
      min_pause_seconds: 0.25,
    });

    // a quiet speaker (-35 dBFS RMS) is heard and transcribed
    expect(await alice.waitForAnswer(sessionId, 'quiet')).toMatchObject({
      status: 'completed',
      delivery: { status: 'measured' },
    });
    expect(fake.requestsFor('fan')).toHaveLength(1);
    expect(fake.requestsFor('quiet')).toHaveLength(1);
  });
});
