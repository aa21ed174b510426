import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { isClaimable } from '../../src/interview-record/claimable-states.js';
import { answerDueAt, earliestDueAt } from '../../src/interview-record/due-work.js';
import type { Answer } from '../../src/interview-record/answer.schema.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
function answer(fields: Partial<Answer>): Answer {
  return {
    id: 'a',
    question_id: 'q',
    gridfs_file_id: new Types.ObjectId(),
    transcription_status: 'queued',
    transcript: null,
    transcribed_at: null,
    transcription_error: null,
    attempts: 0,
    created_at: at(0),
    updated_at: at(0),
    queued_at: at(10),
    next_attempt_at: null,
    claim_id: null,
    lease_until: null,
    audio: { format: 'webm', content_type: 'audio/webm', size_bytes: 1 },
    ...fields,
  };
}

describe('answer scheduling state', () => {
  it('a queued answer is due at its retry time, or when it was queued', () => {
    expect(answerDueAt(answer({}))).toEqual(at(10));
    expect(answerDueAt(answer({ next_attempt_at: at(30) }))).toEqual(at(30));
    expect(isClaimable(answer({ next_attempt_at: at(30) }), at(29))).toBe(false);
    expect(isClaimable(answer({ next_attempt_at: at(30) }), at(30))).toBe(true);
  });

  it('a processing answer is claimable only once its lease has lapsed', () => {
    const held = answer({ transcription_status: 'processing', lease_until: at(40) });
    expect(answerDueAt(held)).toEqual(at(40));
    expect(isClaimable(held, at(40))).toBe(false);
    expect(isClaimable(held, at(41))).toBe(true);
  });

  it('settled answers, and answers without audio, need no worker', () => {
    expect(answerDueAt(answer({ transcription_status: 'completed', gridfs_file_id: null }))).toBeNull();
    expect(answerDueAt(answer({ transcription_status: 'failed' }))).toBeNull();
    expect(isClaimable(answer({ gridfs_file_id: null }), at(99))).toBe(false);
  });

  it('a session is due at its earliest due answer', () => {
    expect(
      earliestDueAt({
        a: answer({ transcription_status: 'completed' }),
        b: answer({ transcription_status: 'processing', lease_until: at(50) }),
        c: answer({ next_attempt_at: at(45) }),
      }),
    ).toEqual(at(45));
    expect(earliestDueAt({ a: answer({ transcription_status: 'failed' }) })).toBeNull();
  });
});
