import { ObjectId, type Db } from 'mongodb';

export interface SeedAnswer {
  status: 'queued' | 'processing' | 'completed' | 'failed';
  transcript?: string;
  error?: string;
  fileId?: ObjectId | null;
  queuedAt?: Date;
  /** The speech guard's measurement of the audio, stored on the answer as the transcription job stores it. */
  speech?: { duration_seconds: number; speech_seconds: number; pauses: Array<{ start: number; end: number }> } | null;
  noSpeech?: boolean;
  suspectHallucination?: boolean;
}

/** One stored answer, shaped as the service stores it. */
export function seededAnswer(questionId: string, seed: SeedAnswer, now = new Date()): Record<string, unknown> {
  return {
    id: new ObjectId().toHexString(),
    question_id: questionId,
    gridfs_file_id: seed.fileId === undefined ? (seed.status === 'completed' ? null : new ObjectId()) : seed.fileId,
    transcription_status: seed.status,
    transcript: seed.transcript ?? null,
    transcribed_at: seed.status === 'completed' ? now : null,
    transcription_error: seed.error ?? null,
    attempts: seed.status === 'queued' ? 0 : 1,
    created_at: now,
    updated_at: now,
    queued_at: seed.queuedAt ?? now,
    next_attempt_at: null,
    claim_id: seed.status === 'processing' ? 'someone-else' : null,
    lease_until: seed.status === 'processing' ? new Date(Date.now() + 3_600_000) : null,
    audio: { format: 'webm', content_type: 'audio/webm', size_bytes: 1000 },
    ...(seed.speech !== undefined
      ? { speech: seed.speech, duration_seconds: seed.speech?.duration_seconds ?? null }
      : {}),
    ...(seed.noSpeech !== undefined ? { no_speech: seed.noSpeech } : {}),
    ...(seed.suspectHallucination !== undefined ? { suspect_hallucination: seed.suspectHallucination } : {}),
  };
}

/** Writes an interview session straight into the database, shaped as the service stores it. */
export async function seedSession(
  db: Db,
  options: {
    userId: string;
    questions: { question_id: string; text: string; model_answer?: string; rubric?: unknown }[];
    answers?: Record<string, SeedAnswer>;
    /** Stored form: { criteria: [{ id, name, description, weight, levels }] }. */
    rubric?: unknown;
  },
): Promise<string> {
  const now = new Date();
  const answers: Record<string, unknown> = {};
  for (const [questionId, seed] of Object.entries(options.answers ?? {})) {
    answers[questionId] = seededAnswer(questionId, seed, now);
  }
  const { insertedId } = await db.collection('interview_sessions').insertOne({
    user_id: options.userId,
    title: 'seeded',
    questions: options.questions.map((q) => ({ model_answer: '', ...q })),
    answers,
    status: 'in_progress',
    rubric: options.rubric ?? null,
    analysis: null,
    analysis_claim: null,
    created_at: now,
    updated_at: now,
    rev: 1,
  });
  return insertedId.toHexString();
}
