import { judgementView } from '../analysis/analysis.view.js';
import type { Analysis } from '../interview-record/analysis.schema.js';
import { answersInOrder } from '../interview-record/answer-paths.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import {
  deliveryOf,
  questionView,
  rubricView,
  segmentsView,
  sessionDeliveryOf,
  speechView,
} from '../sessions/session.view.js';
import type { ExportedAnalysisView, SessionExportView } from './dto/session-export.dto.js';

/** Everything the service holds about a session, for a data-access request. Never audio. */
export function sessionExport(session: SessionRecord, pauseThresholdSeconds: number): SessionExportView {
  return {
    format: 'voice-interview-session-export/1',
    exported_at: new Date().toISOString(),
    session: {
      session_id: String(session._id),
      user_id: session.user_id,
      title: session.title,
      webhook_url: session.webhook_url ?? null,
      status: session.status,
      language: session.language ?? null,
      rubric: rubricView(session.rubric),
      ...(session.languages?.length ? { languages: session.languages } : {}),
      created_at: session.created_at.toISOString(),
      updated_at: session.updated_at.toISOString(),
      questions: session.questions.map(questionView),
      answers: answersInOrder(session).map((a) => ({
        question_id: a.question_id,
        transcription_status: a.transcription_status,
        transcript: a.transcript,
        transcription_error: a.transcription_error,
        language: a.language ?? null,
        duration_seconds: a.duration_seconds ?? null,
        segments: segmentsView(a),
        delivery: deliveryOf(a, pauseThresholdSeconds),
        speech: a.speech ? speechView(a.speech) : null,
        no_speech: a.no_speech ?? false,
        suspect_hallucination: a.suspect_hallucination ?? false,
        ...(a.transcribed_without_hints ? { transcribed_without_hints: true } : {}),
        ...(a.transcript_truncated ? { transcript_truncated: true } : {}),
        ...(a.segments_truncated ? { segments_truncated: true } : {}),
        ...(a.pauses_truncated ? { pauses_truncated: true } : {}),
        transcribed_at: a.transcribed_at?.toISOString() ?? null,
        attempts: a.attempts,
        uploaded_at: a.created_at.toISOString(),
        audio: {
          format: a.audio.format,
          content_type: a.audio.content_type,
          size_bytes: a.audio.size_bytes,
          sha256: a.audio.sha256 ?? null,
          still_stored: a.gridfs_file_id !== null,
          expired_at: a.audio_expired_at?.toISOString() ?? null,
        },
      })),
      analysis: session.analysis ? exportedAnalysis(session.analysis) : null,
      previous_analysis: session.previous_analysis ? exportedAnalysis(session.previous_analysis) : null,
      delivery: sessionDeliveryOf(session, pauseThresholdSeconds),
    },
  };
}

/** A stored analysis with what produced each score (provenance) and why any needs review. */
function exportedAnalysis(analysis: Analysis): ExportedAnalysisView {
  return {
    final_score: analysis.final_score,
    scored_count: analysis.scored_count,
    analyzed_at: analysis.analyzed_at.toISOString(),
    answers: analysis.answers.map((a) => ({
      question_id: a.question_id,
      score: a.score,
      feedback: a.feedback,
      unanswered: a.unanswered,
      ...judgementView(a),
    })),
    delivery: analysis.delivery ?? null,
  };
}
