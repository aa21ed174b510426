import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { soxLowNoise, soxSilence, spokenWithPauses, wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';

const { db, fake, clientFor } = useE2eApp('speech_guard');
const alice = clientFor('alice');

const wav = { contentType: 'audio/wav', filename: 'answer.wav' };
const analyze = (sessionId: string) => alice.request('POST', `/api/analyze/${sessionId}?wait=20`);

describe('the speech guard', () => {
  it('completes silence and low noise without a provider call, as no_speech with an empty transcript', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    expect((await alice.upload(sessionId, 'q1', soxSilence(4), wav)).status).toBe(202);
    expect((await alice.upload(sessionId, 'q2', soxLowNoise(4), wav)).status).toBe(202);

    for (const q of ['q1', 'q2']) {
      expect(await alice.waitForAnswer(sessionId, q)).toEqual({
        question_id: q,
        status: 'completed',
        transcript: '',
        transcribed_at: expect.any(String),
        duration_seconds: 4,
        no_speech: true,
        attempts: 1,
        // nothing heard: said, never zeros
        delivery: expect.objectContaining({ status: 'no_speech', words_per_minute: null, pause_count: null }),
      });
    }
    expect(fake.requests).toHaveLength(0);
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers.q1).toMatchObject({ no_speech: true, transcript: '', gridfs_file_id: null });
    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.q2).toMatchObject({
      speech: { duration_seconds: 4, speech_seconds: 0, pauses: [] },
      no_speech: true,
      suspect_hallucination: false,
    });

    const res = await analyze(sessionId);
    expect(res.status).toBe(200);
    expect(res.body.answers).toEqual([
      expect.objectContaining({
        question_id: 'q1',
        score: 0,
        feedback: ['No answer was heard.'],
        no_speech: true,
        scoring_method: 'none',
      }),
      expect.objectContaining({
        question_id: 'q2',
        score: 0,
        feedback: ['No answer was heard.'],
        no_speech: true,
        scoring_method: 'none',
      }),
    ]);
    expect(res.body.final_score).toBe(0);
    expect(fake.chatRequests).toHaveLength(0);
  });

  it('transcribes speech with long pauses normally and keeps its speech seconds and pauses', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = spokenWithPauses(
      ['Idempotent requests can be retried safely.', 'GridFS stores files in chunks.'],
      2.5,
    );
    expect((await alice.upload(sessionId, 'q1', audio, wav)).status).toBe(202);

    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done.status).toBe('completed');
    expect(done.no_speech).toBeUndefined();
    expect(fake.requestsFor('q1')).toHaveLength(1);
    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.q1).toMatchObject({ no_speech: false, suspect_hallucination: false });
    const { speech } = view.body.answers.q1;
    // the gaps between words may be pauses of a few tenths of a second; one pause is long
    const long = (speech.pauses as Array<{ start: number; end: number }>).filter((p) => p.end - p.start >= 1);
    expect(long).toHaveLength(1);
    const [pause] = long;
    expect(pause.end - pause.start).toBeGreaterThan(2.4);
    expect(pause.end - pause.start).toBeLessThan(3.2);
    // two phrases of about 2.5 s each, with the long pause between them not counted
    expect(speech.speech_seconds).toBeGreaterThan(3.5);
    expect(speech.speech_seconds).toBeLessThan(7);
    expect(speech.duration_seconds).toBeGreaterThan(speech.speech_seconds + 3 * 2.5 - 0.3);
    // how the pauses were found is stored with them
    expect(speech.detector).toEqual({
      name: 'webrtc-vad',
      mode: 3,
      high_pass_hz: 200,
      level_gate_db: 14,
      noise_margin_db: 4,
      min_speech_seconds: 0.09,
      min_pause_seconds: 0.25,
    });

    const res = await analyze(sessionId);
    // the fake judges every criterion level 3 of 4, held at level 1 (25): its transcript shares no key
    // term with the model answer, and a score far above the key-term coverage is capped for review
    expect(res.body.answers[0]).toMatchObject({ question_id: 'q1', score: 25, scoring_method: 'llm' });
    expect(res.body.answers[0].review_reasons.map((r: { code: string }) => r.code)).toEqual(['coverage_disagreement']);
    expect(res.body.answers[0].no_speech).toBeUndefined();
    // SCORING_SAMPLES (3) scorings, each judging the default rubric's 4 criteria in one call
    expect(fake.chatRequests).toHaveLength(3);
  });

  it('flags a known silence hallucination of a recording with little speech and scores it 0', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'ok', text: ' Thank you for watching!' });
    const blip = Buffer.concat([wavTone(0.6, 500)]);
    expect((await alice.upload(sessionId, 'q1', blip, wav)).status).toBe(202);

    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done).toMatchObject({
      status: 'completed',
      transcript: 'Thank you for watching!',
      suspect_hallucination: true,
    });
    const res = await analyze(sessionId);
    expect(res.body.answers[0]).toMatchObject({
      question_id: 'q1',
      score: 0,
      suspect_hallucination: true,
      scoring_method: 'none',
    });
    expect(res.body.answers[0].feedback[0]).toMatch(/^No answer was heard/);
    expect(fake.chatRequests).toHaveLength(0);
  });
});
