import { ProblemView } from '../../common/dto/problem.dto.js';

export class ScoredAnswerView {
  question_id: string;
  /** 0–100. */
  score: number;
  feedback: string[];
  model_answer: string;
  transcript: string | null;
  /** Present (true) when nothing was uploaded for the question: it scores 0. */
  unanswered?: boolean;
  /** Present (true) when the recording held no speech: it scores 0, feedback "No answer was heard." */
  no_speech?: boolean;
  /** Present (true) when the transcript was a known silence hallucination of a recording with little speech: it scores 0. */
  suspect_hallucination?: boolean;
  scoring_method: 'llm' | 'local' | 'none';
}

/** 200: the session is scored (now or before). */
export class AnalysisResultView {
  status: 'success';
  /** The mean over all questions, an unanswered one counting 0. */
  final_score: number;
  scored_count: number;
  answers: ScoredAnswerView[];
  /** Question ids without an answer. */
  unanswered: string[];
  analyzed_at: string;
}

/** 202: answers are still queued or being transcribed; ask again after Retry-After seconds. */
export class AnalysisPendingView {
  status: 'transcription_pending';
  message: string;
  /** Answers waiting for a worker. */
  pending_count: number;
  /** Answers being transcribed right now. */
  processing_count: number;
  /** The same number of seconds as the Retry-After header. */
  retry_after: number;
}

export class FailedTranscriptionView {
  question_id: string;
  error: string | null;
}

/** 409 with type "/problems/transcription-failed": retry or re-upload these answers first. */
export class TranscriptionFailedProblemView extends ProblemView {
  /** @example /problems/transcription-failed */
  declare type: string;
  failed: FailedTranscriptionView[];
}
