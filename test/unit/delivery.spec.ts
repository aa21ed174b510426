import { describe, expect, it } from 'vitest';
import { answerDelivery, countFillers, sessionDelivery } from '../../src/delivery/delivery.js';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
const detector = {
  name: 'webrtc-vad',
  mode: 3,
  high_pass_hz: 200,
  level_gate_db: 14,
  noise_margin_db: 4,
  min_speech_seconds: 0.09,
  min_pause_seconds: 0.25,
};

describe('answerDelivery', () => {
  it('measures pace over speaking time: short gaps count as speaking, long pauses do not', () => {
    const d = answerDelivery(
      {
        transcript: words(60),
        speech: {
          duration_seconds: 40,
          speech_seconds: 27,
          // 0.5 + 0.5 short gaps (speaking), 2 s and 1.5 s pauses (not speaking)
          pauses: [
            { start: 3, end: 3.5 },
            { start: 8, end: 10 },
            { start: 15, end: 15.5 },
            { start: 20, end: 21.5 },
          ],
          detector: { ...detector, extra: 'never shown' } as typeof detector,
        },
      },
      1,
    );
    expect(d).toEqual({
      status: 'measured',
      duration_seconds: 40,
      speaking_seconds: 28,
      words: 60,
      words_per_minute: 128.6,
      pause_count: 2,
      longest_pause_seconds: 2,
      pause_threshold_seconds: 1,
      filler_words: 0,
      filler_words_per_minute: null,
      measured_by: detector,
    });
  });

  it('counts a pause exactly at the threshold as a pause, and reports no longest pause when there is none', () => {
    const at = answerDelivery(
      { transcript: 'a b c', speech: { duration_seconds: 5, speech_seconds: 3, pauses: [{ start: 1, end: 2 }] } },
      1,
    );
    expect(at).toMatchObject({ pause_count: 1, longest_pause_seconds: 1, speaking_seconds: 3 });
    const none = answerDelivery(
      { transcript: 'a b c', speech: { duration_seconds: 3, speech_seconds: 3, pauses: [] } },
      1,
    );
    expect(none).toMatchObject({ pause_count: 0, longest_pause_seconds: null, words_per_minute: 60 });
  });

  it('gives filler words per minute only when the transcript was asked to keep them', () => {
    const answer = {
      transcript: 'Um, so I think, uh, an index is, erm, like a lookup table. Umm.',
      speech: { duration_seconds: 30, speech_seconds: 30, pauses: [] },
    };
    expect(countFillers(answer.transcript)).toBe(4);
    expect(answerDelivery(answer, 1)).toMatchObject({ filler_words: 4, filler_words_per_minute: null });
    expect(answerDelivery({ ...answer, disfluencies_kept: true }, 1)).toMatchObject({
      filler_words: 4,
      filler_words_per_minute: 8,
    });
  });

  it('shows unanswered, no-speech and unmeasured answers as such, never as zeros', () => {
    const nulls = {
      speaking_seconds: null,
      words: null,
      words_per_minute: null,
      pause_count: null,
      longest_pause_seconds: null,
      filler_words: null,
      filler_words_per_minute: null,
      measured_by: null,
    };
    expect(answerDelivery(undefined, 1)).toEqual({
      status: 'unanswered',
      duration_seconds: null,
      pause_threshold_seconds: 1,
      ...nulls,
    });
    expect(
      answerDelivery(
        { transcript: '', no_speech: true, speech: { duration_seconds: 4, speech_seconds: 0, pauses: [], detector } },
        1,
      ),
    ).toEqual({
      status: 'no_speech',
      duration_seconds: 4,
      pause_threshold_seconds: 1,
      ...nulls,
      measured_by: detector,
    });
    expect(
      answerDelivery(
        {
          transcript: 'Thank you for watching.',
          suspect_hallucination: true,
          speech: { duration_seconds: 4, speech_seconds: 0.4, pauses: [] },
        },
        1,
      ).status,
    ).toBe('no_speech');
    expect(answerDelivery({ transcript: 'words here', duration_seconds: 12.345, speech: null }, 1)).toEqual({
      status: 'not_measured',
      duration_seconds: 12.35,
      pause_threshold_seconds: 1,
      ...nulls,
    });
  });
});

describe('sessionDelivery', () => {
  it('averages and ranges over measured answers only, counting the others by kind', () => {
    const threshold = 1;
    const measured = (wpmWords: number, pauses: Array<{ start: number; end: number }>) =>
      answerDelivery(
        { transcript: words(wpmWords), speech: { duration_seconds: 60, speech_seconds: 60, pauses } },
        threshold,
      );
    const all = [
      measured(120, [{ start: 1, end: 3 }]),
      measured(180, []),
      answerDelivery(undefined, threshold),
      answerDelivery({ transcript: '', no_speech: true, speech: null }, threshold),
    ];
    expect(sessionDelivery(all, threshold)).toEqual({
      measured_count: 2,
      unanswered_count: 1,
      no_speech_count: 1,
      not_measured_count: 0,
      words_per_minute: { mean: 150, min: 120, max: 180 },
      speaking_seconds: { mean: 60, min: 60, max: 60 },
      pause_count: { mean: 0.5, min: 0, max: 1 },
      longest_pause_seconds: { mean: 2, min: 2, max: 2 },
      filler_words_per_minute: null,
      pause_threshold_seconds: 1,
    });
    expect(sessionDelivery([answerDelivery(undefined, 1)], 1)).toMatchObject({
      measured_count: 0,
      words_per_minute: null,
      pause_count: null,
    });
  });
});
