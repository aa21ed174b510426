import { CriterionScoreView, ReviewReasonView, ScoringProvenanceView } from '../../analysis/dto/analysis-views.dto.js';
import { AnswerDeliveryView, SessionDeliveryView } from '../../delivery/dto/delivery-views.dto.js';
import { RubricView } from '../../sessions/dto/rubric-views.dto.js';
import { QuestionView, SegmentView, SpeechView } from '../../sessions/dto/session-views.dto.js';

/** What an export says of an answer's audio: never the audio itself. */
export class ExportedAudioView {
  format: string;
  content_type: string;
  size_bytes: number;
  /** Of the bytes as uploaded. */
  sha256: string | null;
  still_stored: boolean;
  expired_at: string | null;
}

export class ExportedAnswerView {
  question_id: string;
  transcription_status: 'queued' | 'processing' | 'completed' | 'failed';
  transcript: string | null;
  transcription_error: string | null;
  language: string | null;
  duration_seconds: number | null;
  segments: SegmentView[] | null;
  delivery: AnswerDeliveryView;
  speech: SpeechView | null;
  no_speech: boolean;
  suspect_hallucination: boolean;
  /** Present (true) when the transcription provider refused the interview's hints (the question's vocabulary and terms, the session's language) and the recording was transcribed once more without them: domain terms may be spelled less well. */
  transcribed_without_hints?: boolean;
  /** Present (true) when the provider's text was longer than the answer may store (TRANSCRIPT_MAX_BYTES, or its share of SESSION_TRANSCRIPTS_MAX_BYTES): the transcript is its beginning. */
  transcript_truncated?: boolean;
  /** Present (true) when segments past the answer's byte budget were not stored. */
  segments_truncated?: boolean;
  /** Present (true) when measured pauses past the answer's byte budget were not stored: delivery counts the ones kept. */
  pauses_truncated?: boolean;
  transcribed_at: string | null;
  attempts: number;
  uploaded_at: string;
  audio: ExportedAudioView;
}

export class ExportedScoreView {
  question_id: string;
  score: number;
  feedback: string[];
  unanswered: boolean;
  scoring_method: 'llm' | 'local' | 'none';
  criteria: CriterionScoreView[];
  samples: number;
  spread: number | null;
  needs_review: boolean;
  /** Why needs_review is set; empty when it is not. */
  review_reasons: ReviewReasonView[];
  /** The model, instructions (version and hash), rubric hash, samples, time, method and cost of the score; null for analyses stored before provenance was kept. */
  provenance: ScoringProvenanceView | null;
  not_scored_reason: 'no_speech' | 'suspect_hallucination' | null;
  delivery: AnswerDeliveryView | null;
}

export class ExportedAnalysisView {
  final_score: number;
  scored_count: number;
  analyzed_at: string;
  answers: ExportedScoreView[];
  /** As the analysis stored it; null for sessions analyzed before delivery was measured. */
  delivery: SessionDeliveryView | null;
}

export class ExportedSessionView {
  session_id: string;
  /** The JWT `sub` of the owner. */
  user_id: string;
  title: string;
  webhook_url: string | null;
  status: 'in_progress' | 'analyzing' | 'analyzed' | 'erasing';
  language: string | null;
  rubric: RubricView | null;
  languages?: string[];
  created_at: string;
  updated_at: string;
  questions: QuestionView[];
  answers: ExportedAnswerView[];
  analysis: ExportedAnalysisView | null;
  /** The analysis the last rescore (POST /api/analyze/:id?rescore=true) replaced; null when never rescored. */
  previous_analysis: ExportedAnalysisView | null;
  /** Every question's delivery now (unanswered and unfinished ones counted as such). */
  delivery: SessionDeliveryView;
}

/** GET /api/sessions/:sessionId/export: everything kept about the session, as a download. */
export class SessionExportView {
  format: 'voice-interview-session-export/1';
  exported_at: string;
  session: ExportedSessionView;
}
