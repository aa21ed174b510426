/** The shapes the server's API answers with (see the README's API table). */

export type TranscriptionStatus = 'queued' | 'processing' | 'completed' | 'failed';

export interface SessionQuestion {
  question_id: string;
  text: string;
  model_answer?: string | null;
}

export interface CreatedSession {
  session_id: string;
  questions: SessionQuestion[];
  status: string;
  created_at: string;
}

export interface AnswerStatusView {
  question_id: string;
  status: TranscriptionStatus;
  transcript?: string;
  error?: string;
  no_speech?: boolean;
  attempts: number;
}

export interface ScoredAnswer {
  question_id: string;
  score: number;
  feedback: string[];
  model_answer?: string | null;
  transcript?: string | null;
  unanswered?: boolean;
  /** The recording held no speech (scored 0). */
  no_speech?: boolean;
  /** The transcript was what speech recognition invents for silence (scored 0). */
  suspect_hallucination?: boolean;
  scoring_method: string;
}

export interface AnalysisResult {
  status: 'success';
  final_score: number;
  scored_count: number;
  answers: ScoredAnswer[];
  unanswered: string[];
  analyzed_at: string;
}

export interface AnalysisPending {
  status: 'transcription_pending';
  message: string;
  pending_count: number;
  processing_count: number;
  retry_after: number;
}

/** 409: an RFC 9457 problem (application/problem+json) of type /problems/transcription-failed. */
export interface AnalysisFailed {
  type: '/problems/transcription-failed';
  status: 409;
  message: string;
  failed: { question_id: string; error: string }[];
}

export type AnalysisOutcome = AnalysisResult | AnalysisPending | AnalysisFailed;
