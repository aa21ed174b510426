import { ObjectId, type Db } from 'mongodb';

export interface SeedAnswer {
  status: 'queued' | 'processing' | 'completed' | 'failed';
  transcript?: string;
  error?: string;
  fileId?: ObjectId | null;
  queuedAt?: Date;
}

/** Writes an interview session straight into the database, shaped as the service stores it. */
export async function seedSession(
  db: Db,
  options: {
    userId: string;
    questions: { question_id: string; text: string; model_answer?: string }[];
    answers?: Record<string, SeedAnswer>;
  },
): Promise<string> {
  const now = new Date();
  const answers: Record<string, unknown> = {};
  for (const [questionId, seed] of Object.entries(options.answers ?? {})) {
    answers[questionId] = {
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
    };
  }
  const { insertedId } = await db.collection('interview_sessions').insertOne({
    user_id: options.userId,
    title: 'seeded',
    questions: options.questions.map((q) => ({ model_answer: '', ...q })),
    answers,
    status: 'in_progress',
    analysis: null,
    analysis_claim: null,
    created_at: now,
    updated_at: now,
    rev: 1,
  });
  return insertedId.toHexString();
}
