import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { AnswerDeliveryView, SessionDeliveryView, SpeechDetectorView } from '../../delivery/dto/delivery-views.dto.js';
import { RubricView } from './rubric-views.dto.js';

/*
 * What the session routes answer with. The view functions in session.view.ts are typed with these
 * classes, so the compiler holds them to the shapes the OpenAPI document describes (the
 * @nestjs/swagger plugin reads these declarations), and the e2e suite checks every response
 * against that document.
 */

export class QuestionView {
  question_id: string;
  text: string;
  /** Empty when the session gave none. */
  model_answer: string;
  /** The question's own rubric; null: the session's (or the default) applies. */
  rubric: RubricView | null;
  /** Present when the session gave the question a vocabulary. */
  vocabulary?: string[];
}

/** How many of the session's questions are in each state. */
export class TranscriptionSummaryView {
  total: number;
  completed: number;
  processing: number;
  queued: number;
  failed: number;
  not_uploaded: number;
}

export class SegmentView {
  /** Seconds from the recording's start. */
  start: number;
  end: number;
  text: string;
}

/** A silence between the first and the last speech, in seconds from the recording's start. */
export class SpeechPauseView {
  start: number;
  end: number;
}

/** How much speech the recording held, measured before transcription (seconds, to 0.01). */
export class SpeechView {
  duration_seconds: number;
  /** From the first to the last speech, minus the pauses. */
  speech_seconds: number;
  /** Every silence of at least the detector's min_pause_seconds between the first and the last speech. */
  pauses: SpeechPauseView[];
  /** How the speech and the pauses were found; absent on answers measured before the voice-activity detector. */
  detector?: SpeechDetectorView;
}

export class AnswerAudioView {
  format: string;
  content_type: string;
  size_bytes: number;
  /** SHA-256 (hex) of the bytes as uploaded, as the upload's 202 gave it: a device can tell whether the server has its copy. */
  sha256: string | null;
}

/** One question's transcription, as the status routes and the live stream report it. */
export class AnswerStatusView {
  question_id: string;
  status: 'queued' | 'processing' | 'completed' | 'failed';
  /** Once completed. */
  transcript?: string;
  /** Why it failed, or why the last attempt failed while it is retried. */
  error?: string;
  transcribed_at?: string;
  /** 0–100, never decreasing, while processing. */
  progress?: number;
  /** As the provider names it (whisper-1 says "english"), once completed, when it says. */
  language?: string;
  duration_seconds?: number;
  /** Present (true) when the recording held no speech: completed with an empty transcript, without a provider call. */
  no_speech?: boolean;
  /** Present (true) for little speech whose transcript is a known silence hallucination: not scored as the candidate's words. */
  suspect_hallucination?: boolean;
  /** Present (true) when the transcription provider refused the interview's hints (the question's vocabulary and terms, the session's language) and the recording was transcribed once more without them: domain terms may be spelled less well. */
  transcribed_without_hints?: boolean;
  /** Present (true) when the provider's text was longer than the answer may store (TRANSCRIPT_MAX_BYTES, or its share of SESSION_TRANSCRIPTS_MAX_BYTES): the transcript is its beginning. */
  transcript_truncated?: boolean;
  /** Present (true) when segments past the answer's byte budget were not stored. */
  segments_truncated?: boolean;
  /** Present (true) when measured pauses past the answer's byte budget were not stored: delivery counts the ones kept. */
  pauses_truncated?: boolean;
  attempts: number;
  /** Pace, pauses and filler words, once completed (the status routes only, not the live stream). */
  delivery?: AnswerDeliveryView;
}

/** One answer in the full session view (never its audio). */
export class SessionAnswerView {
  /** Changes with every upload of this question. */
  id: string;
  question_id: string;
  /** The stored audio while it is kept; null once transcribed. */
  gridfs_file_id: string | null;
  transcription_status: 'queued' | 'processing' | 'completed' | 'failed';
  transcript: string | null;
  transcribed_at: string | null;
  transcription_error: string | null;
  progress: number | null;
  language: string | null;
  duration_seconds: number | null;
  /** Timed stretches of the transcript; null when the model gives text only. */
  segments: SegmentView[] | null;
  /** Measured before transcription; null until then, or when the guard is off or ffmpeg missing. */
  speech: SpeechView | null;
  /** The recording held no speech: completed with an empty transcript, without a provider call. */
  no_speech: boolean;
  /** Little speech and a transcript that is a known silence hallucination: not scored as the candidate's words. */
  suspect_hallucination: boolean;
  /** Present (true) when the transcription provider refused the interview's hints (the question's vocabulary and terms, the session's language) and the recording was transcribed once more without them: domain terms may be spelled less well. */
  transcribed_without_hints?: boolean;
  /** Present (true) when the provider's text was longer than the answer may store (TRANSCRIPT_MAX_BYTES, or its share of SESSION_TRANSCRIPTS_MAX_BYTES): the transcript is its beginning. */
  transcript_truncated?: boolean;
  /** Present (true) when segments past the answer's byte budget were not stored. */
  segments_truncated?: boolean;
  /** Present (true) when measured pauses past the answer's byte budget were not stored: delivery counts the ones kept. */
  pauses_truncated?: boolean;
  attempts: number;
  created_at: string;
  audio_expired_at: string | null;
  audio: AnswerAudioView | null;
}

/** POST /api/sessions. */
export class CreatedSessionView {
  session_id: string;
  questions: QuestionView[];
  language: string | null;
  status: 'in_progress' | 'analyzing' | 'analyzed' | 'erasing';
  created_at: string;
}

@ApiExtraModels(SessionAnswerView)
export class SessionView {
  session_id: string;
  title: string;
  status: 'in_progress' | 'analyzing' | 'analyzed' | 'erasing';
  webhook_url: string | null;
  language: string | null;
  /** The session's rubric; null: the default rubric (see docs/api.md, "Scoring: rubrics, evidence and delivery"). */
  rubric: RubricView | null;
  /** Present when the session was created with a list of languages. */
  languages?: string[];
  questions: QuestionView[];
  /** Keyed by question id; questions without an upload are absent. */
  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(SessionAnswerView) } })
  answers: Record<string, SessionAnswerView>;
  created_at: string;
  updated_at: string;
}

/** One line of the session list. */
export class SessionSummaryView {
  session_id: string;
  title: string;
  status: 'in_progress' | 'analyzing' | 'analyzed' | 'erasing';
  created_at: string;
  updated_at: string;
  summary: TranscriptionSummaryView;
  final_score: number | null;
}

export class SessionListView {
  sessions: SessionSummaryView[];
  /** Pass it back as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

/** GET /api/transcription-status/:sessionId. */
export class SessionTranscriptionStatusView {
  session_id: string;
  summary: TranscriptionSummaryView;
  answers: AnswerStatusView[];
  /** Averages and ranges over the answers measured so far. */
  delivery: SessionDeliveryView;
}

/** Server-Sent Events of GET /api/sessions/:sessionId/events: `snapshot`, sent first. */
export class SnapshotEventView {
  session_id: string;
  status: 'in_progress' | 'analyzing' | 'analyzed' | 'erasing';
  summary: TranscriptionSummaryView;
  answers: AnswerStatusView[];
}

/** `ready`: nothing is left to transcribe. */
export class ReadyEventView {
  session_id: string;
  summary: TranscriptionSummaryView;
}

/** `analyzed`: the session was scored. */
export class AnalyzedEventView {
  session_id: string;
  final_score: number | null;
}
