import { DISFLUENCY_PROMPT } from '../../src/transcription/transcribers/disfluency-prompt.js';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { eventually, openTestDatabase, sessionSettled } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';

const { db, fake, app, clientFor } = useE2eApp('transcription', {
  env: {
    TRANSCRIPTION_MODEL: 'gpt-4o-mini-transcribe',
    TRANSCRIPTION_LANGUAGE: 'en',
    TRANSCRIPTION_MAX_ATTEMPTS: '3',
  },
});
const alice = clientFor('alice');
let tone = 700;
/** Every upload gets audio of its own, so transcripts tell which bytes were transcribed. */
const freshAudio = () => wavTone(0.5, tone++);

/** What GridFS still holds of one uploaded file (other tests' failed answers keep theirs). */
async function fileCounts(fileId: string) {
  const id = new ObjectId(fileId);
  return {
    files: await db.db.collection('fs.files').countDocuments({ _id: id }),
    chunks: await db.db.collection('fs.chunks').countDocuments({ files_id: id }),
  };
}

const sessionDoc = (id: string) => db.db.collection('interview_sessions').findOne({ _id: new ObjectId(id) });

describe('the transcription pipeline', () => {
  it('transcribes in the background, stores the transcript on the session and deletes the audio', async () => {
    const sessionId = await alice.newSession(['q1', 'q2', 'q3']);
    const audio = freshAudio();
    const upload = await alice.upload(sessionId, 'q1', audio);
    expect(upload.status).toBe(202);

    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done).toEqual({
      question_id: 'q1',
      status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      transcribed_at: expect.any(String),
      attempts: 1,
      // the tone is measured as sound throughout: three words ("transcript of <hash>"), no pause
      delivery: expect.objectContaining({ status: 'measured', words: 3, pause_count: 0, pause_threshold_seconds: 1 }),
    });
    const [sent] = fake.requestsFor('q1');
    expect(sent).toMatchObject({
      model: 'gpt-4o-mini-transcribe',
      language: 'en',
      authorization: 'Bearer sk-test-key',
      bytes: audio.length,
      sha256: sha256Of(audio),
      contentType: 'audio/wav',
    });

    const doc = await sessionDoc(sessionId);
    expect(doc!.answers.q1).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      gridfs_file_id: null,
      transcription_error: null,
      claim_id: null,
      lease_until: null,
      attempts: 1,
    });
    expect(doc!.answers.q1.transcribed_at).toBeInstanceOf(Date);
    // the audio goes right after the transcript is safe, and the session leaves the work index
    await eventually(async () => expect(await fileCounts(upload.body.file_id)).toEqual({ files: 0, chunks: 0 }));
    await eventually(async () => expect((await sessionDoc(sessionId))!.work_due_at).toBeUndefined());

    const summary = await alice.sessionStatus(sessionId);
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({
      session_id: sessionId,
      summary: { total: 3, completed: 1, processing: 0, queued: 0, failed: 0, not_uploaded: 2 },
      answers: [done],
      // one measured answer (the tone), two questions unanswered: counted as such, not as zeros
      delivery: expect.objectContaining({
        measured_count: 1,
        unanswered_count: 2,
        no_speech_count: 0,
        not_measured_count: 0,
        pause_count: { mean: 0, min: 0, max: 0 },
        pause_threshold_seconds: 1,
      }),
    });

    const full = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(full.body.answers.q1).toMatchObject({
      transcription_status: 'completed',
      gridfs_file_id: null,
      transcript: done.transcript,
    });
    expect(JSON.stringify(full.body)).not.toContain('claim_id');
  });

  it('takes question ids named like members every object inherits (toString, valueOf, hasOwnProperty) as ordinary ids', async () => {
    const ids = ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];
    const created = await alice.createSession(ids.map((id) => ({ question_id: id, text: `What is ${id}?` })));
    expect(created.status).toBe(201);
    const sessionId = created.body.session_id as string;
    expect(created.body.questions.map((q: { question_id: string }) => q.question_id)).toEqual(ids);

    // before any upload: nothing is mistaken for an answer
    const fresh = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(fresh.status).toBe(200);
    expect(fresh.body.answers).toEqual({});
    const unanswered = await alice.request('GET', `/api/transcription-status/${sessionId}/valueOf`);
    expect(unanswered.status).toBe(404);
    expect((await alice.sessionStatus(sessionId)).body.summary).toMatchObject({ not_uploaded: 4, completed: 0 });

    const audio = freshAudio();
    expect((await alice.upload(sessionId, 'toString', audio)).status).toBe(202);
    const done = await alice.waitForAnswer(sessionId, 'toString');
    expect(done).toMatchObject({
      question_id: 'toString',
      status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
    });
    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(Object.keys(view.body.answers)).toEqual(['toString']);
    expect(view.body.answers.toString).toMatchObject({ question_id: 'toString', transcription_status: 'completed' });
    expect((await alice.sessionStatus(sessionId)).body.summary).toMatchObject({ not_uploaded: 3, completed: 1 });
    const exported = await alice.request('GET', `/api/sessions/${sessionId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body.session.answers.map((a: { question_id: string }) => a.question_id)).toEqual(['toString']);
    expect((await alice.request('DELETE', `/api/upload-answer/${sessionId}/valueOf`)).status).toBe(404);
    expect((await alice.request('POST', `/api/transcription-retry/${sessionId}/hasOwnProperty`)).status).toBe(404);
    const analysis = await alice.request('POST', `/api/analyze/${sessionId}`);
    expect(analysis.status).toBe(200);
    expect(analysis.body.unanswered).toEqual(['valueOf', 'hasOwnProperty', 'isPrototypeOf']);
    expect(app.problems().filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
  });

  it('answers 404 for the status of a question with no upload, and for a foreign session', async () => {
    const sessionId = await alice.newSession(['q1']);
    const none = await alice.answerStatus(sessionId, 'q1');
    expect(none.status).toBe(404);
    expect(none.body.message).toBe('No answer has been uploaded for this question yet.');
    expect((await alice.answerStatus(sessionId, 'zz')).status).toBe(404);
    const bob = alice.as('bob');
    expect((await bob.answerStatus(sessionId, 'q1')).status).toBe(404);
    expect((await bob.sessionStatus(sessionId)).status).toBe(404);
    expect((await alice.sessionStatus(sessionId)).body.summary).toEqual({
      total: 1,
      completed: 0,
      processing: 0,
      queued: 0,
      failed: 0,
      not_uploaded: 1,
    });
  });

  it('shows processing while the provider works', async () => {
    const sessionId = await alice.newSession(['q1']);
    let release!: () => void;
    fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    await alice.upload(sessionId, 'q1', freshAudio());
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);
    expect((await alice.answerStatus(sessionId, 'q1')).body).toEqual({
      question_id: 'q1',
      status: 'processing',
      // a recording sent whole has no pieces to count until it is done
      progress: 0,
      attempts: 1,
    });
    expect((await alice.sessionStatus(sessionId)).body.summary.processing).toBe(1);
    release();
    expect((await alice.waitForAnswer(sessionId, 'q1')).status).toBe('completed');
  });

  it('retries transient failures (500, reset connection, malformed JSON) and then completes', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'status', status: 500 }, { kind: 'reset' });
    const audio = freshAudio();
    await alice.upload(sessionId, 'q1', audio);
    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done).toMatchObject({ status: 'completed', attempts: 3, transcript: expectedTranscript(sha256Of(audio)) });
    expect(done.error).toBeUndefined();
    expect(fake.requestsFor('q1').map((r) => r.sha256)).toEqual(Array(3).fill(sha256Of(audio)));

    const other = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'malformed' });
    await alice.upload(other, 'q1', freshAudio());
    expect(await alice.waitForAnswer(other, 'q1')).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it("passes the session's language to the provider instead of TRANSCRIPTION_LANGUAGE, and validates it", async () => {
    const created = await alice.request('POST', '/api/sessions', {
      json: { language: 'de', questions: [{ question_id: 'q1', text: 'Wie geht es?' }] },
    });
    expect(created.status).toBe(201);
    expect(created.body.language).toBe('de');
    await alice.upload(created.body.session_id, 'q1', freshAudio());
    expect((await alice.waitForAnswer(created.body.session_id, 'q1')).status).toBe('completed');
    expect(fake.requestsFor('q1').map((r) => [r.language, r.responseFormat])).toEqual([['de', 'json']]);
    const doc = await sessionDoc(created.body.session_id);
    expect(doc!.language).toBe('de');
    // gpt-4o models answer text only: nothing else is made up
    expect(doc!.answers.q1).toMatchObject({ language: null, duration_seconds: null, segments: null });
    // the provider is asked, by a prompt written with filler words, to keep them; the answer says so
    expect(fake.requestsFor('q1')[0].prompt).toBe(DISFLUENCY_PROMPT);
    expect(doc!.answers.q1.disfluencies_kept).toBe(true);

    for (const language of ['english', 'EN', 'e', 42]) {
      const refused = await alice.request('POST', '/api/sessions', {
        json: { language, questions: [{ text: 'Question?' }] },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.message).toBe(
        typeof language === 'string'
          ? 'language must be an ISO-639-1 code of two lowercase letters, such as en or de'
          : 'language must be a string',
      );
    }
  });

  it('honours Retry-After on a 429', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    await alice.upload(sessionId, 'q1', freshAudio());
    expect(await alice.waitForAnswer(sessionId, 'q1')).toMatchObject({ status: 'completed', attempts: 2 });
    const [first, second] = fake.requestsFor('q1');
    // the retry base in tests is 50 ms: only Retry-After explains a wait of a second
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after TRANSCRIPTION_MAX_ATTEMPTS transient failures, keeping the audio', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', ...Array(3).fill({ kind: 'status', status: 503, message: 'overloaded' }));
    const upload = await alice.upload(sessionId, 'q1', freshAudio());
    const failed = await alice.waitForAnswer(sessionId, 'q1');
    expect(failed).toEqual({
      question_id: 'q1',
      status: 'failed',
      error: 'Gave up after 3 attempts: The transcription provider failed (503).',
      attempts: 3,
    });
    expect(fake.requestsFor('q1')).toHaveLength(3);
    expect(await db.db.collection('fs.files').findOne({ _id: new ObjectId(upload.body.file_id) })).not.toBeNull();
  });

  it("tells the user a sentence of its own, never the provider's text (a 401 quotes the masked key)", async () => {
    const sessionId = await alice.newSession(['q1']);
    const providerText =
      'Incorrect API key provided: sk-tes*****-key. You can find your API key at https://platform.openai.com/account/api-keys.';
    fake.script('q1', { kind: 'status', status: 401, message: providerText });
    const before = app.logs.length;
    await alice.upload(sessionId, 'q1', freshAudio());
    const failed = await alice.waitForAnswer(sessionId, 'q1');
    expect(failed).toEqual({
      question_id: 'q1',
      status: 'failed',
      error:
        "The transcription provider refused this server's credentials (401); the operator must check OPENAI_API_KEY, then retry the answer.",
      attempts: 1,
    });
    expect((await sessionDoc(sessionId))!.answers.q1.transcription_error).toBe(failed.error);
    // the details are for operators: in the log, at warn, without the key itself
    const logged = app
      .entries()
      .slice(0)
      .filter((e) => e.msg.includes(`${sessionId}/q1`) && e.msg.includes('failed'));
    expect(logged.at(-1)).toMatchObject({
      level: 'warn',
      msg: expect.stringContaining('[401 Incorrect API key provided'),
    });
    expect(app.logs.slice(before).join('\n')).not.toContain('sk-test-key');
  });

  it('fails a permanent error at once with a readable error, and the retry endpoint queues it again', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'status', status: 400, message: 'Invalid file format.' });
    const audio = freshAudio();
    const upload = await alice.upload(sessionId, 'q1', audio);
    const failed = await alice.waitForAnswer(sessionId, 'q1');
    expect(failed).toEqual({
      question_id: 'q1',
      status: 'failed',
      error:
        'The transcription provider rejected the audio (400); check that the recording plays, then upload it again.',
      attempts: 1,
    });
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect((await sessionDoc(sessionId))!.answers.q1.gridfs_file_id).toEqual(new ObjectId(upload.body.file_id));

    const retry = await alice.request('POST', `/api/transcription-retry/${sessionId}/q1`);
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({
      status: 'processing',
      transcription_status: 'queued',
      file_id: upload.body.file_id,
    });
    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done).toMatchObject({ status: 'completed', attempts: 1, transcript: expectedTranscript(sha256Of(audio)) });
    await eventually(async () => expect(await fileCounts(upload.body.file_id)).toEqual({ files: 0, chunks: 0 }));

    const again = await alice.request('POST', `/api/transcription-retry/${sessionId}/q1`);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('Only a failed transcription can be retried; this one is completed.');
  });

  it('answers 404 to a retry with nothing uploaded and 410 when the audio is gone', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    expect((await alice.request('POST', `/api/transcription-retry/${sessionId}/q1`)).status).toBe(404);
    expect((await alice.as('bob').request('POST', `/api/transcription-retry/${sessionId}/q1`)).status).toBe(404);

    fake.script('q2', { kind: 'status', status: 400 });
    const upload = await alice.upload(sessionId, 'q2', freshAudio());
    await alice.waitForAnswer(sessionId, 'q2');
    await sessionSettled(db.db, sessionId);
    // what the retention cleanup does to the audio of an old failed answer
    await db.db.collection('fs.files').deleteOne({ _id: new ObjectId(upload.body.file_id) });
    await db.db.collection('fs.chunks').deleteMany({ files_id: new ObjectId(upload.body.file_id) });
    await db.db
      .collection('interview_sessions')
      .updateOne({ _id: new ObjectId(sessionId) }, { $set: { 'answers.q2.gridfs_file_id': null } });
    const gone = await alice.request('POST', `/api/transcription-retry/${sessionId}/q2`);
    expect(gone.status).toBe(410);
    expect(gone.body.message).toBe('The audio for this answer is no longer stored; upload the answer again.');
  });

  it('replaces an answer re-uploaded while its first recording is being transcribed', async () => {
    const sessionId = await alice.newSession(['q1']);
    let release!: () => void;
    fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const oldAudio = freshAudio();
    const newAudio = freshAudio();
    const first = await alice.upload(sessionId, 'q1', oldAudio);
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);

    const second = await alice.upload(sessionId, 'q1', newAudio);
    expect(second.status).toBe(202);
    expect((await alice.answerStatus(sessionId, 'q1')).body.status).toMatch(/queued|processing|completed/);
    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done.transcript).toBe(expectedTranscript(sha256Of(newAudio)));
    release(); // the old transcription now answers; it must not overwrite the new answer
    // answered, or abandoned by a job that lost its claim: either way it is over
    await fake.waitFor(() => fake.inFlight === 0, 5_000, 'the held request to finish');
    await new Promise((r) => setTimeout(r, 300));
    const doc = await sessionDoc(sessionId);
    expect(doc!.answers.q1).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(newAudio)),
      attempts: 1,
    });
    expect(await fileCounts(first.body.file_id)).toEqual({ files: 0, chunks: 0 });
    await eventually(async () => expect(await fileCounts(second.body.file_id)).toEqual({ files: 0, chunks: 0 }));
  });
});

describe('provider timeouts', () => {
  it('retries a provider that hangs past TRANSCRIPTION_TIMEOUT_MS and fails readably at the last attempt', async () => {
    const own = await openTestDatabase('timeout');
    const slow = await AppProcess.start({
      mongodbUri: own.uri,
      openaiUrl: fake.url,
      env: { TRANSCRIPTION_TIMEOUT_MS: '400', TRANSCRIPTION_MAX_ATTEMPTS: '2' },
    });
    try {
      const api = new ApiClient(slow.url, tokenFor('carol'));
      const sessionId = await api.newSession(['hang']);
      fake.script('hang', { kind: 'stall' }, { kind: 'stall' });
      await api.upload(sessionId, 'hang', freshAudio());
      const failed = await api.waitForAnswer(sessionId, 'hang');
      expect(failed).toEqual({
        question_id: 'hang',
        status: 'failed',
        error: 'Gave up after 2 attempts: The transcription provider did not answer within 400 ms.',
        attempts: 2,
      });
      const doc = await own.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
      expect(doc!.answers.hang).toMatchObject({ claim_id: null, lease_until: null });
    } finally {
      await slow.stop();
      await own.drop();
    }
  });
});

describe('without OPENAI_API_KEY', () => {
  it('treats a base URL alone as a self-hosted server: uploads are transcribed there', async () => {
    const own = await openTestDatabase('nokey');
    const keyless = await AppProcess.start({ mongodbUri: own.uri, openaiUrl: fake.url, apiKey: null });
    const api = new ApiClient(keyless.url, tokenFor('dave'));
    const sessionId = await api.newSession(['q1']);
    const audio = freshAudio();
    try {
      expect((await api.upload(sessionId, 'q1', audio)).status).toBe(202);
      const done = await api.waitForAnswer(sessionId, 'q1');
      expect(done).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio)) });
      const sent = fake.requestsFor('q1');
      expect(sent).toHaveLength(1);
      expect(sent[0].authorization).not.toContain('sk-test-key');
    } finally {
      await keyless.stop();
      await own.drop();
    }
  });
});
