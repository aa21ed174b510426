/**
 * Which single read a status GET should make, measured with the driver alone (bench/NOTES.md,
 * "Status reads"): `node dist-bench/bench/status-read-probe.js` after `tsc -p tsconfig.bench.json`,
 * against MONGODB_URI (its database is dropped afterwards). For a session of 10 transcribed answers,
 * short (the bench's) or long (2-minute answers: 40 segments and 30 pauses each), it times:
 * the question ids then the named status fields (two reads, what the service did), the named status
 * fields alone (one read, the question ids known), the whole document, and the whole document less
 * its question texts and rubrics (an exclusion needs no key of the answers map).
 */
import { MongoClient, ObjectId, type Document } from 'mongodb';
import { percentile } from './stats.js';

const STATUS_FIELDS = ['id', 'question_id', 'transcription_status', 'transcript', 'transcription_error'];
const STATUS_FIELDS_MORE = ['transcribed_at', 'progress', 'language', 'duration_seconds', 'no_speech', 'attempts'];
const STATUS_FIELDS_SPEECH = ['speech', 'suspect_hallucination', 'transcript_truncated', 'segments_truncated'];

function session(userId: string, long: boolean): Document {
  const questions = Array.from({ length: 10 }, (_, i) => ({
    question_id: `q${i + 1}`,
    text: `Tell us about a time you ${'handled a difficult situation at work '.repeat(3)}(${i})`,
    model_answer: 'A model answer '.repeat(20),
    rubric: null,
  }));
  const segments = (n: number) =>
    Array.from({ length: n }, (_, k) => ({
      start: k * 3,
      end: k * 3 + 2.8,
      text: 'and then we decided to '.repeat(5),
    }));
  const answers: Record<string, Document> = {};
  for (const q of questions) {
    const n = long ? 40 : 1;
    answers[q.question_id] = {
      id: q.question_id,
      question_id: q.question_id,
      gridfs_file_id: null,
      transcription_status: 'completed',
      transcript: segments(n)
        .map((s) => s.text)
        .join(' '),
      transcription_error: null,
      transcribed_at: new Date(),
      uploaded_at: new Date(),
      language: 'en',
      duration_seconds: n * 3,
      segments: segments(n),
      speech: {
        duration_seconds: n * 3,
        speech_seconds: n * 2.5,
        pauses: Array.from({ length: long ? 30 : 1 }, (_, k) => ({ start: k * 4, end: k * 4 + 0.6 })),
      },
      audio: { filename: 'a.webm', content_type: 'audio/webm', size_bytes: 123456, sha256: 'ab'.repeat(32) },
      no_speech: false,
      attempts: 1,
      queued_at: new Date(),
      next_attempt_at: null,
      claim_id: null,
      lease_until: null,
    };
  }
  return {
    _id: new ObjectId(),
    user_id: userId,
    title: 'probe',
    questions,
    answers,
    status: 'in_progress',
    created_at: new Date(),
    updated_at: new Date(),
    analysis: null,
    rev: 10,
  };
}

const named = (ids: string[]) => {
  const projection: Record<string, 1> = { 'questions.question_id': 1, user_id: 1, status: 1 };
  for (const id of ids) {
    for (const f of [...STATUS_FIELDS, ...STATUS_FIELDS_MORE, ...STATUS_FIELDS_SPEECH]) {
      projection[`answers.${id}.${f}`] = 1;
    }
  }
  return projection;
};
const EXCLUDED = {
  'questions.text': 0,
  'questions.model_answer': 0,
  'questions.rubric': 0,
  rubric: 0,
  pending_webhooks: 0,
} as const;

async function main(): Promise<void> {
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/');
  base.pathname = `/bench_probe_${Date.now().toString(36)}`;
  const client = await MongoClient.connect(base.toString(), { maxPoolSize: 50 });
  const sessions = client.db().collection('interview_sessions');
  try {
    for (const long of [false, true]) {
      const doc = session('probe-user', long);
      // other sessions around it, so that a scan would show
      await sessions.insertMany(Array.from({ length: 20 }, () => session('someone-else', long)));
      await sessions.insertOne(doc);
      const _id = doc._id as ObjectId;
      const ids = (doc.questions as { question_id: string }[]).map((q) => q.question_id);
      const reads: Record<string, () => Promise<unknown>> = {
        'two reads (ids, then named fields)': async () => {
          const first = await sessions.findOne({ _id }, { projection: { 'questions.question_id': 1, user_id: 1 } });
          const known = (first!.questions as { question_id: string }[]).map((q) => q.question_id);
          return sessions.findOne({ _id }, { projection: named(known) });
        },
        'one read, named fields': () => sessions.findOne({ _id }, { projection: named(ids) }),
        'one read, whole document': () => sessions.findOne({ _id }),
        'one read, exclusion': () => sessions.findOne({ _id }, { projection: EXCLUDED }),
      };
      const size = JSON.stringify(doc).length;
      console.log(`\n${long ? 'long' : 'short'} answers (session ${(size / 1024).toFixed(0)} KB as JSON)`);
      for (const [name, read] of Object.entries(reads)) {
        for (let i = 0; i < 20; i++) await read(); // warm-up
        const times: number[] = [];
        for (let i = 0; i < 200; i++) {
          const t = performance.now();
          await read();
          times.push(performance.now() - t);
        }
        // 32 at a time for 3 s: throughput
        const until = performance.now() + 3000;
        let done = 0;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (performance.now() < until) {
              await read();
              done++;
            }
          }),
        );
        console.log(
          `  ${name.padEnd(36)} 1 at a time p50 ${percentile(times, 50).toFixed(2)} ms p99 ${percentile(times, 99).toFixed(2)} ms; 32 at a time ${(done / 3).toFixed(0)}/s`,
        );
      }
    }
  } finally {
    await client.db().dropDatabase();
    await client.close();
  }
}

void main();
