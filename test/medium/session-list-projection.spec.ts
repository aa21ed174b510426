import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionDataModule } from '../../src/sessions/session-data.module.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { answerStatusProjection, answerStatusView, sessionSummaryView } from '../../src/sessions/session.view.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** The session list reads only what it returns, never transcripts or segments (the bulk of a session). */
let app: MediumApp;

beforeAll(async () => {
  app = await startMedium('list-projection', { imports: [SessionDataModule] });
});
afterAll(() => app?.close());

const answer = (questionId: string, status: string, transcript: string | null) => ({
  id: `a-${questionId}`,
  question_id: questionId,
  gridfs_file_id: null,
  transcription_status: status,
  transcript,
  transcribed_at: null,
  transcription_error: null,
  created_at: new Date(),
  updated_at: new Date(),
  audio: { format: 'wav', content_type: 'audio/wav', size_bytes: 10 },
  segments: transcript ? [{ start: 0, end: 1, text: transcript }] : null,
  attempts: 1,
});

describe('SessionRepository.listOwned', () => {
  it('returns ids, titles, times, question ids and answer statuses only', async () => {
    const repository = app.get(SessionRepository);
    const session = await repository.create(
      'alice',
      {
        title: 'projected',
        questions: [
          { question_id: 'q1', text: 'SECRET-QUESTION-TEXT', model_answer: 'SECRET-MODEL-ANSWER' },
          { question_id: 'q2', text: 'Two', model_answer: '' },
          { question_id: 'q3', text: 'Three', model_answer: '' },
        ],
        webhookUrl: 'https://example.com/hook',
        language: 'en',
      },
      new Date(),
    );
    await app.db.collection('interview_sessions').updateOne(
      { _id: new ObjectId(String(session._id)) },
      {
        $set: {
          'answers.q1': answer('q1', 'completed', 'SECRET-TRANSCRIPT '.repeat(1000)),
          'answers.q2': answer('q2', 'queued', null),
          analysis: { final_score: 71, scored_count: 1, analyzed_at: new Date(), answers: [] },
        },
      },
    );
    const other = await repository.create(
      'alice',
      {
        title: 'empty',
        questions: [{ question_id: 'x', text: 'X', model_answer: '' }],
        webhookUrl: null,
        language: null,
      },
      new Date(Date.now() + 1000),
    );

    const rows = await repository.listOwned('alice', { limit: 10 });
    expect(rows.map((r) => String(r._id))).toEqual([String(other._id), String(session._id)]);
    const raw = JSON.stringify(rows);
    for (const secret of [
      'SECRET-TRANSCRIPT',
      'SECRET-QUESTION-TEXT',
      'SECRET-MODEL-ANSWER',
      'example.com',
      'segments',
    ]) {
      expect(raw).not.toContain(secret);
    }
    expect(rows[1]).toEqual({
      _id: session._id,
      title: 'projected',
      status: 'in_progress',
      created_at: session.created_at,
      updated_at: session.updated_at,
      questions: [{ question_id: 'q1' }, { question_id: 'q2' }, { question_id: 'q3' }],
      answers: { q1: { transcription_status: 'completed' }, q2: { transcription_status: 'queued' } },
      analysis: { final_score: 71 },
    });
    expect(sessionSummaryView(rows[1])).toMatchObject({
      summary: { total: 3, completed: 1, queued: 1, processing: 0, failed: 0, not_uploaded: 1 },
      final_score: 71,
    });
    expect(rows[0].answers).toEqual({});
  });
});

describe("the status routes' projection", () => {
  it("reads each answer's status fields and transcript, never its segments, pieces or held result", async () => {
    const repository = app.get(SessionRepository);
    const session = await repository.create(
      'alice',
      {
        title: 'status',
        questions: [{ question_id: 'q1', text: 'SECRET-QUESTION-TEXT', model_answer: 'SECRET-MODEL-ANSWER' }],
        webhookUrl: null,
        language: null,
      },
      new Date(),
    );
    const stored = {
      ...answer('q1', 'completed', 'the transcript'),
      segments: [{ start: 0, end: 1, text: 'SECRET-SEGMENT' }],
      pieces: [{ index: 0, text: 'SECRET-PIECE' }],
      held_result: { text: 'SECRET-HELD' },
      speech: { duration_seconds: 2, speech_seconds: 1, pauses: [{ start: 0.5, end: 1 }] },
      transcript_truncated: true,
    };
    await app.db
      .collection('interview_sessions')
      .updateOne({ _id: new ObjectId(String(session._id)) }, { $set: { 'answers.q1': stored } });
    const read = await repository.findOwned(session._id, 'alice', answerStatusProjection(['q1', 'q2']));
    const raw = JSON.stringify(read);
    for (const secret of [
      'SECRET-SEGMENT',
      'SECRET-PIECE',
      'SECRET-HELD',
      'SECRET-QUESTION-TEXT',
      'SECRET-MODEL-ANSWER',
    ]) {
      expect(raw).not.toContain(secret);
    }
    expect(read!.questions).toEqual([{ question_id: 'q1' }]);
    expect(answerStatusView(read!.answers.q1, 1)).toEqual(answerStatusView(stored as never, 1));
  });
});
