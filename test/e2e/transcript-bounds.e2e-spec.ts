import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { FakeOpenAI } from '../support/fake-openai.js';

/** A provider text over the answer's budget is stored cut and flagged, never refused: the session document has a size limit. */
let db: TestDatabase;
let fake: FakeOpenAI;
let app: AppProcess;
let alice: ApiClient;

beforeAll(async () => {
  db = await openTestDatabase('transcript_bounds');
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({
    mongodbUri: db.uri,
    openaiUrl: fake.url,
    env: { TRANSCRIPT_MAX_BYTES: '1024', TRANSCRIPTION_MODEL: 'whisper-1' },
  });
  alice = new ApiClient(app.url, tokenFor('alice'));
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await db?.drop();
});

describe('transcripts over the answer budget', () => {
  it('stores the first 1024 bytes at a character boundary, flags the cut in every view, and keeps a short one whole', async () => {
    const sessionId = await alice.newSession(['long', 'short']);
    fake.script('long', { kind: 'ok', text: 'é'.repeat(1000) + ' the end' }); // 2008 bytes
    fake.script('short', { kind: 'ok', text: 'short and whole' });
    expect((await alice.upload(sessionId, 'long', wavTone(0.5, 400))).status).toBe(202);
    expect((await alice.upload(sessionId, 'short', wavTone(0.5, 500))).status).toBe(202);
    const long = await alice.waitForAnswer(sessionId, 'long');
    const short = await alice.waitForAnswer(sessionId, 'short');

    expect(long).toMatchObject({ status: 'completed', transcript: 'é'.repeat(512), transcript_truncated: true });
    expect(short.transcript).toBe('short and whole');
    expect(short).not.toHaveProperty('transcript_truncated');
    expect(short).not.toHaveProperty('segments_truncated');

    const stored = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(stored!.answers.long.transcript).toBe('é'.repeat(512));
    expect(stored!.answers.long.transcript_truncated).toBe(true);
    // whisper-1 segments repeat the text: none fits 1024 bytes
    expect(stored!.answers.long.segments).toEqual([]);
    expect(stored!.answers.long.segments_truncated).toBe(true);

    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.long).toMatchObject({
      transcript_truncated: true,
      segments_truncated: true,
      segments: [],
    });
    expect(view.body.answers.short).not.toHaveProperty('transcript_truncated');
    const exported = await alice.request('GET', `/api/sessions/${sessionId}/export`);
    const exportedLong = exported.body.session.answers.find((a: { question_id: string }) => a.question_id === 'long');
    expect(exportedLong).toMatchObject({ transcript: 'é'.repeat(512), transcript_truncated: true });
    // the log says a cut happened, never the text
    expect(app.logs.some((line) => line.includes('stored cut'))).toBe(true);
    expect(app.logs.some((line) => line.includes('éé'))).toBe(false);
  });
});
