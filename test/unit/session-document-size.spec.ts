import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { boundAnalysisTexts } from '../../src/analysis/analysis-bounds.js';
import type { ScoredAnswer } from '../../src/interview-record/analysis.schema.js';
import {
  answerBudgetBytes,
  boundTranscript,
  PAUSE_OVERHEAD_BYTES,
  SEGMENT_OVERHEAD_BYTES,
} from '../../src/transcription/transcript-bounds.js';

/**
 * The largest session document the input limits allow, with every transcript, segment list and
 * pause list of every answer at its budget, stays far from MongoDB's 16 MB.
 * The figures are in docs/reliability.md, "Side effects and limits".
 */
const MB = 1024 * 1024;
const JSON_BODY_LIMIT = 2 * MB; // main.ts: a session's questions, rubrics and title arrive in one body
const MAX_QUESTIONS = 200; // create-session.dto.ts
const DEFAULTS = { answerMaxBytes: 262_144, sessionMaxBytes: 524_288 }; // settings/transcription.settings.ts
const MAXIMA = { answerMaxBytes: 4_194_304, sessionMaxBytes: 2_097_152 }; // the settings' upper bounds

/** A string of `bytes` UTF-8 bytes made of three-byte characters (what a JSON body can carry unescaped). */
const wide = (bytes: number) => '€'.repeat(Math.floor(bytes / 3));

function creationMaxima() {
  // the body limit binds before the per-field limits do: fill it evenly
  const perQuestion = Math.floor(JSON_BODY_LIMIT / MAX_QUESTIONS) - 200;
  const questions = Array.from({ length: MAX_QUESTIONS }, (_, i) => ({
    question_id: `q${i}`.padEnd(64, 'x'),
    text: wide(Math.min(15_000, perQuestion / 2)),
    model_answer: wide(perQuestion - Math.min(15_000, perQuestion / 2)),
  }));
  const body = JSON.stringify({
    title: 't'.repeat(200),
    webhook_url: 'https://e.example/' + 'h'.repeat(2000),
    questions,
  });
  return { questions, bodyBytes: Buffer.byteLength(body) };
}

/** An answer as completion leaves it, its provider result far over budget and bounded. */
function completedAnswer(questionId: string, budget: number) {
  const huge = {
    transcript: wide(budget * 4),
    language: 'english',
    duration_seconds: 36_000,
    segments: Array.from({ length: Math.ceil((budget * 2) / SEGMENT_OVERHEAD_BYTES) }, (_, i) => ({
      start: i + 0.123456789,
      end: i + 1.987654321,
      text: '€', // the worst text per stored byte: the overhead dominates
    })),
    speech: {
      duration_seconds: 36_000,
      speech_seconds: 18_000,
      pauses: Array.from({ length: Math.ceil((budget * 2) / PAUSE_OVERHEAD_BYTES) }, (_, i) => ({
        start: i + 0.123456789,
        end: i + 0.987654321,
      })),
    },
    no_speech: false,
    suspect_hallucination: false,
    disfluencies_kept: true,
  };
  const bounded = boundTranscript(huge, budget);
  expect(bounded.transcript_truncated && bounded.segments_truncated && bounded.pauses_truncated).toBe(true);
  const now = new Date();
  return {
    id: crypto.randomUUID(),
    question_id: questionId,
    gridfs_file_id: null,
    transcription_status: 'completed',
    transcribed_at: now,
    transcription_error: null,
    created_at: now,
    updated_at: now,
    audio: { format: 'webm', content_type: 'audio/webm;codecs=opus', size_bytes: 1024 ** 3, sha256: 'f'.repeat(64) },
    request_id: 'r'.repeat(128),
    trace_context: '00-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01',
    queued_at: now,
    attempts: 5,
    next_attempt_at: null,
    claim_id: null,
    lease_until: null,
    pieces: null,
    held_result: null,
    progress: null,
    audio_expired_at: null,
    ...bounded,
  };
}

/** The analysis of 200 questions × 10 criteria (the rubric's most) with every reply at its accepted maximum, bounded. */
function worstAnalysis(questionIds: string[]) {
  const criteria = Array.from({ length: 10 }, (_, i) => ({
    criterion_id: `c${i}`.padEnd(64, 'x'),
    name: 'n'.repeat(100),
    weight: 10,
    level: 3,
    score: 75,
    rationale: wide(3000), // 1,000 three-byte characters
    evidence: wide(6000),
    found_terms: Array.from({ length: 2000 }, (_, t) => `term${t}`.padEnd(20, 'x')),
    missed_terms: Array.from({ length: 2000 }, (_, t) => `gone${t}`.padEnd(20, 'x')),
    method: 'llm' as const,
  }));
  const answers: ScoredAnswer[] = questionIds.map((question_id) => ({
    question_id,
    score: 75,
    feedback: criteria.map(() => wide(3100)),
    unanswered: false,
    method: 'llm',
    criteria,
    samples: 3,
    spread: 10,
    needs_review: true,
    not_scored_reason: null,
    delivery: null,
  }));
  return {
    final_score: 75,
    scored_count: answers.length,
    answers: boundAnalysisTexts(answers),
    analyzed_at: new Date(),
    delivery: null,
  };
}

function worstSession(bounds: typeof DEFAULTS) {
  const { questions, bodyBytes } = creationMaxima();
  expect(bodyBytes).toBeLessThanOrEqual(JSON_BODY_LIMIT);
  const budget = answerBudgetBytes(bounds, questions.length);
  const now = new Date();
  return {
    _id: new BSON.ObjectId(),
    user_id: 'u'.repeat(255),
    title: 't'.repeat(200),
    webhook_url: 'https://e.example/' + 'h'.repeat(2000),
    questions: questions.map((q) => ({ ...q, rubric: null })),
    language: 'en',
    rubric: null,
    languages: null,
    answers: Object.fromEntries(questions.map((q) => [q.question_id, completedAnswer(q.question_id, budget)])),
    status: 'analyzed',
    created_at: now,
    updated_at: now,
    analysis: worstAnalysis(questions.map((q) => q.question_id)),
    analysis_claim: null,
    erasing_since: null,
    rev: 1_000_000,
  };
}

describe('the largest session document', () => {
  it('stays under 6 MB with the default bounds, and under 10 MB with every bound at its maximum, analysis included', () => {
    const atDefaults = BSON.calculateObjectSize(worstSession(DEFAULTS));
    const atMaxima = BSON.calculateObjectSize(worstSession(MAXIMA));
    console.log(
      `worst-case session document: ${(atDefaults / MB).toFixed(2)} MB at the default bounds, ${(atMaxima / MB).toFixed(2)} MB at the maxima`,
    );
    expect(atDefaults).toBeLessThan(6 * MB);
    expect(atMaxima).toBeLessThan(10 * MB);
  });
});
