import type { Types } from 'mongoose';
import type { Answer } from '../../interview-record/answer.schema.js';
import type { SessionRecord } from '../../interview-record/session.schema.js';

/** What the interview tells the provider about the recording. */
export interface InterviewHints {
  /** The question's vocabulary first, then the domain terms of its text and model answer. */
  keywords: string[];
  /** The session's language (ISO-639-1), else TRANSCRIPTION_LANGUAGE. */
  language: string | null;
  /** The session's possible languages, for a bilingual interview. */
  languages: string[];
}

/** One claimed answer to transcribe. */
export interface TranscriptionTask {
  sessionId: Types.ObjectId;
  questionId: string;
  fileId: Types.ObjectId;
  /** The claim this job holds; every write it makes is fenced by it. */
  claimId: string;
  /** As read when the claim was taken. */
  answer: Answer;
  /** The session as the claim left it (what a failure's webhook event is built from). */
  session: SessionRecord;
  /** The question's keywords and the session's language(s). */
  hints: InterviewHints;
}

/** The claim was taken over or the answer replaced while the job ran: stop, write nothing. */
export class ClaimLost extends Error {
  override name = 'ClaimLost';
  constructor() {
    super('the claim on this answer is gone');
  }
}
