import { answerDelivery, sessionDelivery } from '../delivery/delivery.js';
import type {
  AnswerDeliveryView,
  SessionDeliveryView,
  SpeechDetectorView,
} from '../delivery/dto/delivery-views.dto.js';
import type { Rubric } from '../interview-record/rubric.schema.js';
import type { AnswerSpeech, SpeechDetectorRecord } from '../interview-record/answer-speech.schema.js';
import type { Answer } from '../interview-record/answer.schema.js';
import type {
  AnswerStatusView,
  QuestionView,
  SessionAnswerView,
  SessionSummaryView,
  SessionView,
  SpeechView,
  TranscriptionSummaryView,
} from './dto/session-views.dto.js';
import { answerFieldsProjection, answerOf, answersInOrder } from '../interview-record/answer-paths.js';
import type { Question, SessionRecord } from '../interview-record/session.schema.js';
import type { SessionListRow } from './session.repository.js';

/** The answer fields answerStatusView and deliveryOf read: never segments, pieces or a held result. */
const STATUS_FIELDS = [
  'id',
  'question_id',
  'transcription_status',
  'transcript',
  'transcription_error',
  'transcribed_at',
  'progress',
  'language',
  'duration_seconds',
  'no_speech',
  'suspect_hallucination',
  'transcript_truncated',
  'segments_truncated',
  'pauses_truncated',
  'attempts',
  'speech',
  'disfluencies_kept',
  'transcribed_without_hints',
] as const;

/**
 * What the status views (GET transcription-status, an event stream's snapshot) leave out of their one
 * read of a session: question texts, model answers and rubrics, the analysis's per-answer part (the
 * stream shows analysis.final_score) and pending webhook payloads. Answers stay whole: answers is a
 * map keyed by question id, and naming its keys needs the question ids first (a second read, as
 * before). Chosen by measurement on FerretDB 1.24/PostgreSQL (bench/status-read-probe.ts,
 * bench/NOTES.md): FerretDB applies a projection after reading the whole document, at a cost that
 * grows with the paths named, so the named status fields of 10 answers (~180 paths) made one read
 * slower than the whole document, while this 7-path exclusion costs about what no projection does.
 */
export const STATUS_READ_EXCLUSION = {
  'questions.text': 0,
  'questions.model_answer': 0,
  'questions.rubric': 0,
  'questions.vocabulary': 0,
  rubric: 0,
  'analysis.answers': 0,
  pending_webhooks: 0,
} as const satisfies Record<string, 0>;

/** A projection of the status fields of these questions' answers (answers is a map: each key is named). */
export function answerStatusProjection(questionIds: string[]): Record<string, 1> {
  return { 'questions.question_id': 1, ...answerFieldsProjection(questionIds, STATUS_FIELDS) };
}

/** What clients see of one answer's transcription (the status endpoints' per-question object). */
export function answerStatusView(answer: Answer, pauseThresholdSeconds?: number): AnswerStatusView {
  return {
    question_id: answer.question_id,
    status: answer.transcription_status,
    ...(answer.transcript !== null ? { transcript: answer.transcript } : {}),
    ...(answer.transcription_error !== null ? { error: answer.transcription_error } : {}),
    ...(answer.transcribed_at ? { transcribed_at: answer.transcribed_at.toISOString() } : {}),
    ...(answer.transcription_status === 'processing' ? { progress: answer.progress ?? 0 } : {}),
    ...(answer.language ? { language: answer.language } : {}),
    ...(typeof answer.duration_seconds === 'number' ? { duration_seconds: answer.duration_seconds } : {}),
    ...(answer.no_speech ? { no_speech: true } : {}),
    ...(answer.suspect_hallucination ? { suspect_hallucination: true } : {}),
    ...(answer.transcribed_without_hints ? { transcribed_without_hints: true } : {}),
    ...(answer.transcript_truncated ? { transcript_truncated: true } : {}),
    ...(answer.segments_truncated ? { segments_truncated: true } : {}),
    ...(answer.pauses_truncated ? { pauses_truncated: true } : {}),
    attempts: answer.attempts,
    ...(pauseThresholdSeconds !== undefined && answer.transcription_status === 'completed'
      ? { delivery: deliveryOf(answer, pauseThresholdSeconds) }
      : {}),
  };
}

/** An answer's delivery, from the speech the transcription job measured on its audio and stored on the answer. */
export function deliveryOf(answer: Answer | undefined, pauseThresholdSeconds: number): AnswerDeliveryView {
  if (answer && answer.transcription_status !== 'completed') {
    return answerDelivery({ transcript: null, speech: null }, pauseThresholdSeconds);
  }
  return answerDelivery(answer, pauseThresholdSeconds);
}

/** The delivery of every question of the session (unanswered and unfinished ones counted as such). */
export function sessionDeliveryOf(
  session: Pick<SessionRecord, 'questions' | 'answers'>,
  pauseThresholdSeconds: number,
): SessionDeliveryView {
  return sessionDelivery(
    session.questions.map((q) => deliveryOf(answerOf(session.answers, q.question_id), pauseThresholdSeconds)),
    pauseThresholdSeconds,
  );
}

export const rubricView = (rubric: Rubric | null | undefined) =>
  rubric
    ? {
        criteria: rubric.criteria.map((c) => ({
          id: c.id,
          name: c.name,
          description: c.description ?? '',
          weight: c.weight,
          levels: c.levels ?? [],
        })),
      }
    : null;

export const questionView = (q: Question): QuestionView => ({
  question_id: q.question_id,
  text: q.text,
  model_answer: q.model_answer,
  rubric: rubricView(q.rubric),
  ...(q.vocabulary?.length ? { vocabulary: [...q.vocabulary] } : {}),
});

export const speechView = (speech: AnswerSpeech): SpeechView => ({
  duration_seconds: speech.duration_seconds,
  speech_seconds: speech.speech_seconds,
  pauses: speech.pauses.map((p) => ({ start: p.start, end: p.end })),
  ...(speech.detector ? { detector: detectorView(speech.detector) } : {}),
});

/** The detector's name and settings, field by field (never the stored subdocument itself). */
const detectorView = (d: SpeechDetectorRecord): SpeechDetectorView => ({
  name: d.name,
  mode: d.mode,
  high_pass_hz: d.high_pass_hz,
  level_gate_db: d.level_gate_db,
  noise_margin_db: d.noise_margin_db,
  min_speech_seconds: d.min_speech_seconds,
  min_pause_seconds: d.min_pause_seconds,
});

/** Segments are only in the full views: a long answer has hundreds, too many for every status poll. */
export const segmentsView = (answer: Answer) =>
  answer.segments?.map((s) => ({ start: s.start, end: s.end, text: s.text })) ?? null;

function answerView(answer: Answer): SessionAnswerView {
  return {
    id: answer.id,
    question_id: answer.question_id,
    gridfs_file_id: answer.gridfs_file_id ? String(answer.gridfs_file_id) : null,
    transcription_status: answer.transcription_status,
    transcript: answer.transcript,
    transcribed_at: answer.transcribed_at?.toISOString() ?? null,
    transcription_error: answer.transcription_error,
    progress: answer.transcription_status === 'processing' ? (answer.progress ?? 0) : null,
    language: answer.language ?? null,
    duration_seconds: answer.duration_seconds ?? null,
    segments: segmentsView(answer),
    speech: answer.speech ? speechView(answer.speech) : null,
    no_speech: answer.no_speech ?? false,
    suspect_hallucination: answer.suspect_hallucination ?? false,
    ...(answer.transcribed_without_hints ? { transcribed_without_hints: true } : {}),
    ...(answer.transcript_truncated ? { transcript_truncated: true } : {}),
    ...(answer.segments_truncated ? { segments_truncated: true } : {}),
    ...(answer.pauses_truncated ? { pauses_truncated: true } : {}),
    attempts: answer.attempts,
    created_at: answer.created_at.toISOString(),
    audio_expired_at: answer.audio_expired_at?.toISOString() ?? null,
    audio: answer.audio
      ? {
          format: answer.audio.format,
          content_type: answer.audio.content_type,
          size_bytes: answer.audio.size_bytes,
          sha256: answer.audio.sha256 ?? null,
        }
      : null,
  };
}

export function transcriptionSummary(session: {
  questions: Pick<Question, 'question_id'>[];
  answers?: Record<string, Pick<Answer, 'transcription_status'>>;
}): TranscriptionSummaryView {
  const summary: TranscriptionSummaryView = {
    total: session.questions.length,
    completed: 0,
    processing: 0,
    queued: 0,
    failed: 0,
    not_uploaded: 0,
  };
  for (const question of session.questions) {
    const answer = answerOf(session.answers, question.question_id);
    if (answer) summary[answer.transcription_status]++;
    else summary.not_uploaded++;
  }
  return summary;
}

/** One line of the session list. */
export function sessionSummaryView(session: SessionListRow): SessionSummaryView {
  return {
    session_id: String(session._id),
    title: session.title,
    status: session.status,
    created_at: session.created_at.toISOString(),
    updated_at: session.updated_at.toISOString(),
    summary: transcriptionSummary(session),
    final_score: session.analysis?.final_score ?? null,
  };
}

export function sessionView(session: SessionRecord): SessionView {
  return {
    session_id: String(session._id),
    title: session.title,
    status: session.status,
    webhook_url: session.webhook_url ?? null,
    language: session.language ?? null,
    rubric: rubricView(session.rubric),
    ...(session.languages?.length ? { languages: session.languages } : {}),
    questions: session.questions.map(questionView),
    answers: Object.fromEntries(answersInOrder(session).map((a) => [a.question_id, answerView(a)])),
    created_at: session.created_at.toISOString(),
    updated_at: session.updated_at.toISOString(),
  };
}
