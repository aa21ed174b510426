import { describe, expect, it } from 'vitest';
import { spokenAtRate } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';

// Delivery measured from real speech: espeak-ng at two rates, with sox pauses of known length.

const { fake, clientFor } = useE2eApp('delivery', { env: { SCORING_SAMPLES: '1' } });
const alice = clientFor('alice');

const PHRASES = [
  'I would keep the same key on each call so that the second one does no harm',
  'the server looks at the key and sends back the first result it gave',
  'that way a user who clicks twice is not charged two times for one thing',
];
const GAPS = [1.5, 2.5];
const wav = { contentType: 'audio/wav', filename: 'answer.wav' };

describe('delivery', () => {
  it('measures pace over speaking time and the pauses of a slow and a fast answer', async () => {
    const slow = spokenAtRate(PHRASES, 120, GAPS);
    const fast = spokenAtRate(PHRASES, 220, GAPS);
    const sessionId = await alice.newSession(['q1', 'q2']);
    fake.script('q1', { kind: 'ok', text: PHRASES.join('. ') + '.' });
    fake.script('q2', { kind: 'ok', text: PHRASES.join('. ') + '.' });
    expect((await alice.upload(sessionId, 'q1', slow.wav, wav)).status).toBe(202);
    expect((await alice.upload(sessionId, 'q2', fast.wav, wav)).status).toBe(202);

    const measured = [];
    for (const [q, spoken] of [
      ['q1', slow],
      ['q2', fast],
    ] as const) {
      const done = await alice.waitForAnswer(sessionId, q);
      expect(done.status).toBe('completed');
      const d = done.delivery;
      const truePace = (spoken.words / spoken.speakingSeconds) * 60;
      expect(d).toMatchObject({ status: 'measured', words: 46, pause_count: 2, pause_threshold_seconds: 1 });
      expect(Math.abs(d.words_per_minute - truePace) / truePace).toBeLessThan(0.15);
      expect(Math.abs(d.speaking_seconds - spoken.speakingSeconds)).toBeLessThan(0.15 * spoken.speakingSeconds);
      expect(Math.abs(d.longest_pause_seconds - 2.5)).toBeLessThanOrEqual(0.25);
      expect(Math.abs(d.duration_seconds - (spoken.speakingSeconds + 1 + 1.5 + 2.5))).toBeLessThan(0.25);
      measured.push(d.words_per_minute as number);
    }
    // espeak's -s 220 against -s 120: the measure tells the fast speaker from the slow one
    expect(measured[1] / measured[0]).toBeGreaterThan(1.5);

    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    const pauses = view.body.answers.q1.speech.pauses.map((p: { start: number; end: number }) => p.end - p.start);
    const long = pauses.filter((p: number) => p >= 1);
    expect(long).toHaveLength(2);
    expect(Math.abs(long[0] - 1.5)).toBeLessThanOrEqual(0.25);
    expect(Math.abs(long[1] - 2.5)).toBeLessThanOrEqual(0.25);

    const res = await alice.request('POST', `/api/analyze/${sessionId}?wait=20`);
    expect(res.status).toBe(200);
    expect(
      res.body.answers.map((a: { delivery: { words_per_minute: number } }) => a.delivery.words_per_minute),
    ).toEqual(measured);
    expect(res.body.delivery.words_per_minute).toMatchObject({
      min: measured[0],
      max: measured[1],
    });
    expect(res.body.delivery.words_per_minute.mean).toBeCloseTo((measured[0] + measured[1]) / 2, 0);
  });
});
