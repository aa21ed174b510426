import { beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus, type CorpusRecording } from '../support/speech-corpus.js';
import { detect, score, type RecordingScore } from '../support/speech-corpus-score.js';

/**
 * The speech detector against a corpus made on the spot (test/support/speech-corpus.ts): espeak-ng
 * speakers with known pauses, in pink, brown, white noise and babble at 20, 15 and 10 dB SNR, quiet,
 * noise-only and silence-only, some as mp3, webm/opus and m4a. The targets are issue 26's; the
 * figures at 10 dB SNR are printed, not judged.
 */
describe('the speech detector on a labelled corpus', () => {
  let scores: RecordingScore[];

  beforeAll(async () => {
    const corpus: CorpusRecording[] = makeCorpus();
    scores = [];
    for (const recording of corpus) scores.push(score(recording, await detect(recording)));
  }, 240_000);

  const line = (s: RecordingScore) =>
    `${s.recording.name}: speaking ${s.speakingSeconds.toFixed(2)} s of ${s.truthSpeakingSeconds.toFixed(2)} ` +
    `(${(s.speakingError * 100).toFixed(1)} %), pauses ${s.pauses
      .map(
        (p) =>
          `${(p.truth.end - p.truth.start).toFixed(1)} s→${p.found ? (p.found.end - p.found.start).toFixed(2) : 'missed'}`,
      )
      .join(', ')}`;

  it('hears no speech in noise or silence up to -20 dBFS peak, in any encoding', () => {
    const none = scores.filter((s) => !s.recording.speech);
    expect(none.length).toBe(13);
    expect(none.filter((s) => s.heardSpeech).map(line)).toEqual([]);
    expect(none.map((s) => s.speechSeconds)).toEqual(none.map(() => 0));
  });

  it('hears speech at 15 dB SNR and above, and a quiet speaker at -35 dBFS RMS', () => {
    const speech = scores.filter((s) => s.recording.speech && (s.recording.snrDb ?? 99) >= 15);
    expect(speech.length).toBe(3 * 2 + 3 * 4 * 2 + 12);
    expect(speech.filter((s) => !s.heardSpeech).map(line)).toEqual([]);
    expect(scores.filter((s) => s.recording.speechRmsDb === -35 && !s.heardSpeech)).toEqual([]);
  });

  it('finds every pause of 1 s or more within 0.3 s, and speaking time within 10 %, at 15 dB SNR and above', () => {
    const speech = scores.filter((s) => s.recording.speech && (s.recording.snrDb ?? 99) >= 15);
    const missed = speech.filter((s) => s.pauses.some((p) => !p.found || Math.abs(p.errorSeconds!) > 0.3));
    expect(missed.map(line)).toEqual([]);
    expect(speech.flatMap((s) => s.pauses).length).toBeGreaterThanOrEqual(speech.length);
    const off = speech.filter((s) => Math.abs(s.speakingError) > 0.1);
    expect(off.map(line)).toEqual([]);
  });

  it('reports its figures at 10 dB SNR (no target)', () => {
    const hard = scores.filter((s) => s.recording.snrDb === 10);
    expect(hard.length).toBe(12);
    console.log(['At 10 dB SNR:', ...hard.map(line)].join('\n  '));
    // speech is still heard: a noisy room never costs the candidate their answer
    expect(hard.filter((s) => !s.heardSpeech).map(line)).toEqual([]);
  });
});
