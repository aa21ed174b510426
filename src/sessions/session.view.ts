import type { Answer, SessionRecord } from './session.schema.js';

/** What clients see of one answer's transcription (the status endpoints' per-question object). */
export function answerStatusView(answer: Answer) {
  return {
    question_id: answer.question_id,
    status: answer.transcription_status,
    ...(answer.transcript !== null ? { transcript: answer.transcript } : {}),
    ...(answer.transcription_error !== null ? { error: answer.transcription_error } : {}),
    ...(answer.transcribed_at ? { transcribed_at: answer.transcribed_at.toISOString() } : {}),
    attempts: answer.attempts,
  };
}

function answerView(answer: Answer) {
  return {
    id: answer.id,
    question_id: answer.question_id,
    gridfs_file_id: answer.gridfs_file_id ? String(answer.gridfs_file_id) : null,
    transcription_status: answer.transcription_status,
    transcript: answer.transcript,
    transcribed_at: answer.transcribed_at?.toISOString() ?? null,
    transcription_error: answer.transcription_error,
    attempts: answer.attempts,
    created_at: answer.created_at.toISOString(),
    audio_expired_at: answer.audio_expired_at?.toISOString() ?? null,
    audio: answer.audio
      ? { format: answer.audio.format, content_type: answer.audio.content_type, size_bytes: answer.audio.size_bytes }
      : null,
  };
}

export function sessionView(session: SessionRecord) {
  return {
    session_id: String(session._id),
    title: session.title,
    status: session.status,
    questions: session.questions.map((q) => ({
      question_id: q.question_id,
      text: q.text,
      model_answer: q.model_answer,
    })),
    answers: Object.fromEntries(
      session.questions
        .filter((q) => session.answers?.[q.question_id])
        .map((q) => [q.question_id, answerView(session.answers[q.question_id])]),
    ),
    created_at: session.created_at.toISOString(),
    updated_at: session.updated_at.toISOString(),
  };
}
