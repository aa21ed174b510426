/** The shapes the server's API answers with (see the table in docs/api.md). */

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

export interface CriterionScore {
  criterion_id: string;
  name: string;
  weight: number;
  /** Rubric level 0–4 (LLM); null from the local scorer or when not judged. */
  level: number | null;
  /** 0–100; null: not judged. */
  score: number | null;
  rationale: string | null;
  /** The candidate's own words (a verbatim span of the transcript). */
  evidence: string | null;
  found_terms?: string[];
  missed_terms?: string[];
  method: 'llm' | 'local' | 'none';
}

export type DeliveryStatus = 'measured' | 'unanswered' | 'no_speech' | 'not_measured';

export interface AnswerDelivery {
  status: DeliveryStatus;
  duration_seconds: number | null;
  speaking_seconds: number | null;
  words: number | null;
  words_per_minute: number | null;
  pause_count: number | null;
  longest_pause_seconds: number | null;
  pause_threshold_seconds: number;
  filler_words: number | null;
  filler_words_per_minute: number | null;
}

export interface DeliveryRange {
  mean: number;
  min: number;
  max: number;
}

export interface SessionDelivery {
  measured_count: number;
  unanswered_count: number;
  no_speech_count: number;
  not_measured_count: number;
  words_per_minute: DeliveryRange | null;
  speaking_seconds: DeliveryRange | null;
  pause_count: DeliveryRange | null;
  longest_pause_seconds: DeliveryRange | null;
  filler_words_per_minute: DeliveryRange | null;
  pause_threshold_seconds: number;
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
  criteria?: CriterionScore[];
  samples?: number;
  spread?: number | null;
  needs_review?: boolean;
  not_scored_reason?: 'no_speech' | 'suspect_hallucination' | null;
  delivery?: AnswerDelivery | null;
}

export interface AnalysisResult {
  status: 'success';
  final_score: number;
  scored_count: number;
  answers: ScoredAnswer[];
  unanswered: string[];
  needs_review?: string[];
  delivery?: SessionDelivery | null;
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
  /** Keyed by question id, as the server sends them. */
  answers?: Record<string, { question_id: string; created_at: string; audio?: { sha256: string | null } | null }>;
}
