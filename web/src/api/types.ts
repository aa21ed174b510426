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
  attempts: number;
}

export interface ScoredAnswer {
  question_id: string;
  score: number;
  feedback: string[];
  model_answer?: string | null;
  transcript?: string | null;
  unanswered?: boolean;
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
  status: 'transcription_pending' | 'scoring_in_progress';
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

/** What the app reads of GET /api/sessions/:id: the answers' state on the server. */
export interface SessionView {
  session_id: string;
  status: 'in_progress' | 'analyzing' | 'analyzed' | string;
  answers?: { question_id: string; uploaded_at: string; audio?: { sha256: string | null } }[];
}
