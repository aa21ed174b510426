import { ThrottlerModule } from '@nestjs/throttler';
import { Types } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnalysisModule } from '../../src/analysis/analysis.module.js';
import { AnalysisService } from '../../src/analysis/analysis.service.js';
import { AnswerScorer } from '../../src/analysis/answer-scorer.js';
import { DocumentLockTimeout } from '../../src/database/document-locks.js';
import { SessionDocuments } from '../../src/interview-record/session-documents.js';
import { seedSession } from '../support/factories.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** A scoring claim is renewed while scoring, so slow scoring is never done twice; waiting callers get a 202 in time. */
let app: MediumApp;
let analysis: AnalysisService;

beforeAll(async () => {
  app = await startMedium('analysis-claim', {
    imports: [ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1000 }]), AnalysisModule],
    // claims of 1 s, renewed every 200 ms; a waiting call answers within 0.8 × 2 s
    env: { SCORING_CLAIM_MS: '1000', HTTP_IDLE_TIMEOUT_MS: '2000', OPENAI_API_KEY: '' },
  });
  analysis = app.get(AnalysisService);
});
afterAll(() => app?.close());
afterEach(() => vi.restoreAllMocks());

const answered = () =>
  seedSession(app.db, {
    userId: 'alice',
    questions: [
      { question_id: 'q1', text: 'What is a closure?', model_answer: 'A function with its scope' },
      { question_id: 'q2', text: 'What is a promise?', model_answer: 'A future value' },
    ],
    answers: {
      q1: { status: 'completed', transcript: 'a function that keeps its scope' },
      q2: { status: 'completed', transcript: 'a value that arrives later' },
    },
  });

/** Holds the first scoring of q1 until released; counts every scoring call by question. */
function slowFirstScore() {
  const scorer = app.get(AnswerScorer);
  const original = scorer.score.bind(scorer);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const calls: string[] = [];
  vi.spyOn(scorer, 'score').mockImplementation(async (request, rubric) => {
    calls.push(request.questionId);
    if (request.questionId === 'q1' && calls.filter((q) => q === 'q1').length === 1) await held;
    return original(request, rubric);
  });
  return { calls, release };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
};

describe('scoring that outlives its first claim', () => {
  it('keeps its claim: a second analyze gets 202 scoring_in_progress and nothing is scored twice', async () => {
    const sessionId = await answered();
    const slow = slowFirstScore();
    const first = analysis.analyze('alice', sessionId, 0);
    await until(() => slow.calls.includes('q1'));
    app.clock.advance(6 * 60_000); // far past the claim as first taken
    await new Promise((r) => setTimeout(r, 600)); // renewals happen meanwhile

    const second = await analysis.analyze('alice', sessionId, 0);
    expect(second).toMatchObject({ httpStatus: 202, retryAfter: 2, body: { status: 'scoring_in_progress' } });

    slow.release();
    const result = await first;
    expect(result.httpStatus).toBe(200);
    expect(slow.calls.sort()).toEqual(['q1', 'q2']);
    const doc = await app.db.collection('interview_sessions').findOne({ _id: new Types.ObjectId(sessionId) });
    expect(doc).toMatchObject({ status: 'analyzed', analysis_claim: null });
  });

  it('answers a caller waiting for another request’s scoring with a 202 before the idle timeout', async () => {
    const sessionId = await answered();
    const slow = slowFirstScore();
    const first = analysis.analyze('alice', sessionId, 0);
    await until(() => slow.calls.includes('q1'));
    const started = Date.now();
    const waiting = await analysis.analyze('alice', sessionId, 30);
    const waited = Date.now() - started;
    expect(waiting).toMatchObject({ httpStatus: 202, body: { status: 'scoring_in_progress', retry_after: 2 } });
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(2_000); // HTTP_IDLE_TIMEOUT_MS
    slow.release();
    expect((await first).httpStatus).toBe(200);
  }, 15_000);
});

describe('a failed write of the scores', () => {
  it('is retried with the scores in hand: each answer is scored once and the analysis is stored', async () => {
    const sessionId = await answered();
    const scorer = app.get(AnswerScorer);
    const score = vi.spyOn(scorer, 'score');
    const documents = app.get(SessionDocuments);
    const original = documents.findOneAndUpdate.bind(documents);
    let saves = 0;
    vi.spyOn(documents, 'findOneAndUpdate').mockImplementation(async (id, filter, update, returnDocument) => {
      const set = (update as { $set?: Record<string, unknown> }).$set ?? {};
      // a lock timeout at the moment the scores are written, twice
      if (set.status === 'analyzed' && ++saves <= 2) {
        throw new DocumentLockTimeout(`timed out waiting for the lock on interview_sessions:${String(id)}`);
      }
      return original(id, filter, update, returnDocument);
    });
    const result = await analysis.analyze('alice', sessionId, 0);
    expect(result.httpStatus).toBe(200);
    expect(saves).toBe(3);
    expect(score.mock.calls.map(([request]) => request.questionId).sort()).toEqual(['q1', 'q2']);
    const doc = await app.db.collection('interview_sessions').findOne({ _id: new Types.ObjectId(sessionId) });
    expect(doc).toMatchObject({ status: 'analyzed', analysis_claim: null });
    expect(doc!.analysis.final_score).toBe((result.body as { final_score: number }).final_score);
  });
});
