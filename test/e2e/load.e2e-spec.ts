// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { FailureTally } from '../support/load-failures.js';

const SESSIONS = Number(process.env.LOAD_SESSIONS ?? 200);
const ANSWERS = 3;
const POLL_SECONDS = 20;
/** How long a frontend waits for one status answer before it counts the poll as failed. */
const POLL_TIMEOUT_S = 10;
/**
 * Seconds a client waits for its 202: FerretDB serialises the writes, so with 200 uploads in flight
 * the last ones wait long (p99 35-37 s in earlier runs, 52-80 s on a week's slow machine, one upload
 * once past 120 s); what is asserted is that none is lost or refused.
 */
const UPLOAD_TIMEOUT_S = 300;
/** No request answered for this long means the server or its database stalled: the run is stopped. */
const STALL_S = 60;

const { db, fake, app } = useE2eApp('load', {
  // the slow default below stays for the whole file
  resetProvider: false,
  // answers are scored as they are transcribed (SCORING_EAGER, the default) and uploads taken in
  // UPLOAD_INTAKE_CONCURRENCY at a time; LOAD_SCORING_EAGER and LOAD_INTAKE_CONCURRENCY measure the
  // burst with others, for comparison (docs/reliability.md)
  env: {
    TRANSCRIPTION_CONCURRENCY: '8',
    SCORING_EAGER: process.env.LOAD_SCORING_EAGER ?? 'true',
    ...(process.env.LOAD_INTAKE_CONCURRENCY ? { UPLOAD_INTAKE_CONCURRENCY: process.env.LOAD_INTAKE_CONCURRENCY } : {}),
  },
});
fake.setDefault({ kind: 'ok', delayMs: 50 });

function multipart(audio: Buffer, boundary: string): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
    ),
    audio,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

describe('load', () => {
  it(
    `${SESSIONS} sessions upload ${ANSWERS} answers each while their frontends poll every second`,
    { timeout: 900_000 + Number(process.env.LOAD_DRAIN_TIMEOUT_S ?? 0) * 1000 },
    async () => {
      const sessions: { id: string; user: string }[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const user = `load-${i}`;
        sessions.push({ id: await new ApiClient(app.url, tokenFor(user)).newSession(['a0', 'a1', 'a2']), user });
      }
      const tokens = new Map(sessions.map((s) => [s.user, tokenFor(s.user)]));
      const boundary = 'loadboundary42';
      const uploads: { session: number; question: number; body: Buffer }[] = [];
      for (let q = 0; q < ANSWERS; q++) {
        for (let s = 0; s < SESSIONS; s++)
          uploads.push({ session: s, question: q, body: multipart(wavTone(0.5, 200 + s * ANSWERS + q), boundary) });
      }
      const acknowledged = new Set<string>();
      const uploadFailures = new FailureTally(UPLOAD_TIMEOUT_S);
      const pollFailures = new FailureTally(POLL_TIMEOUT_S);
      let next = 0;
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, app.memory().rss)), 200);

      const uploadRun = autocannon({
        url: app.url,
        connections: SESSIONS,
        amount: uploads.length,
        timeout: UPLOAD_TIMEOUT_S,
        requests: [
          {
            method: 'POST',
            setupRequest: (req: any, context: any) => {
              const job = uploads[next++ % uploads.length];
              const session = sessions[job.session];
              context.key = `${session.id}/a${job.question}`;
              return {
                ...req,
                path: `/api/upload-answer/${session.id}/a${job.question}`,
                headers: {
                  authorization: `Bearer ${tokens.get(session.user)}`,
                  'content-type': `multipart/form-data; boundary=${boundary}`,
                },
                body: job.body,
              };
            },
            onResponse: (status: number, body: string, context: any) => {
              if (status === 202) acknowledged.add(context.key);
              else uploadFailures.response(status, body);
            },
          },
        ],
      });
      let poll = 0;
      const pollRun = autocannon({
        url: app.url,
        connections: SESSIONS,
        overallRate: SESSIONS, // each frontend asks once a second
        duration: POLL_SECONDS,
        timeout: POLL_TIMEOUT_S,
        // the latencies as the frontends saw them: autocannon's correction for coordinated omission
        // takes 1/rate as the expected interval in milliseconds (1 ms for one request a second), so
        // it would add a sample for every millisecond of a slow answer and report a weighted p99
        ignoreCoordinatedOmission: true,
        requests: [
          {
            method: 'GET',
            setupRequest: (req: any) => {
              const session = sessions[poll++ % SESSIONS];
              return {
                ...req,
                path: `/api/transcription-status/${session.id}`,
                headers: { authorization: `Bearer ${tokens.get(session.user)}` },
              };
            },
            onResponse: (status: number, body: string) => pollFailures.response(status, body),
          },
        ],
      });
      uploadFailures.watch(uploadRun);
      pollFailures.watch(pollRun);
      // a database that stops answering (FerretDB on PostgreSQL once deadlocked here for good) fails
      // the test within a minute instead of leaving it to the 15-minute timeout
      let lastAnswerAt = Date.now();
      let stalled = false;
      for (const run of [uploadRun, pollRun]) run.on('response', () => (lastAnswerAt = Date.now()));
      const watchdog = setInterval(() => {
        if (Date.now() - lastAnswerAt < STALL_S * 1000) return;
        stalled = true;
        uploadRun.stop();
        pollRun.stop();
      }, 1000);
      let uploadsDoneAt = 0;
      const [up, polls] = await Promise.all([uploadRun.then((r: any) => ((uploadsDoneAt = Date.now()), r)), pollRun]);
      clearInterval(watchdog);
      if (stalled) {
        clearInterval(sampler);
        throw new Error(
          `no request was answered for ${STALL_S} s: the server or its database stalled ` +
            `(${acknowledged.size} of ${uploads.length} uploads acknowledged; failures: ` +
            `${JSON.stringify({ uploads: uploadFailures, polls: pollFailures })})`,
        );
      }

      // Every acknowledged answer is stored: its answer is on the session, pointing at its audio, and
      // the queue is being worked. LOAD_FULL_DRAIN=1 also waits until every one is transcribed (on
      // FerretDB that takes minutes; docs/reliability.md has the figures).
      let scored = 0;
      const stored = async () => {
        const docs = await db.db
          .collection('interview_sessions')
          .find({}, { projection: { answers: 1, answer_scores: 1 } })
          .toArray();
        const answers = new Map<string, any>();
        scored = 0;
        for (const doc of docs) {
          for (const [q, a] of Object.entries(doc.answers ?? {})) answers.set(`${String(doc._id)}/${q}`, a);
          for (const record of Object.values(doc.answer_scores ?? {}))
            if ((record as any)?.status === 'scored') scored++;
        }
        return answers;
      };
      let answers = await stored();
      const missing = [...acknowledged].filter((key) => !answers.get(key));
      // an answer not yet transcribed still has its audio, or was transcribed since it was read, or
      // holds its transcript (the job deletes the audio before it completes the answer)
      const pending = [...answers].filter(([, a]) => a.transcription_status !== 'completed' && !a.held_result);
      const present = new Set(
        (
          await db.db
            .collection('fs.files')
            .find({ _id: { $in: pending.map(([, a]) => a.gridfs_file_id) } }, { projection: { _id: 1 } })
            .toArray()
        ).map((f) => String(f._id)),
      );
      const withoutAudio = pending.filter(([, a]) => !present.has(String(a.gridfs_file_id))).map(([key]) => key);
      // LOAD_DRAIN_TIMEOUT_S: FerretDB on SQLite needs longer than the default to drain 600 answers
      const drainMs = Number(process.env.LOAD_DRAIN_TIMEOUT_S ?? 600) * 1000;
      const deadline = Date.now() + (process.env.LOAD_FULL_DRAIN ? drainMs : 0);
      let completed = [...answers.values()].filter((a) => a.transcription_status === 'completed').length;
      const completedWhenUploadsEnded = completed;
      while (completed < acknowledged.size && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        answers = await stored();
        completed = [...answers.values()].filter((a) => a.transcription_status === 'completed').length;
      }
      clearInterval(sampler);
      const report = {
        s_after_uploads: Math.round((Date.now() - uploadsDoneAt) / 1000),
        uploads: {
          sent: up.requests.total,
          acknowledged: acknowledged.size,
          non2xx: up.non2xx,
          errors: up.errors,
          timeouts: up.timeouts,
          '5xx': up['5xx'],
          failures: uploadFailures,
          rps: up.requests.average,
          p50_ms: up.latency.p50,
          p99_ms: up.latency.p99,
        },
        polls: {
          sent: polls.requests.total,
          non2xx: polls.non2xx,
          errors: polls.errors,
          timeouts: polls.timeouts,
          '5xx': polls['5xx'],
          failures: pollFailures,
          rps: polls.requests.average,
          p50_ms: polls.latency.p50,
          p99_ms: polls.latency.p99,
        },
        completed_when_uploads_ended: completedWhenUploadsEnded,
        completed,
        // scored as soon as transcribed (SCORING_EAGER)
        scored,
        still_queued_or_processing: acknowledged.size - completed,
        lost: missing.length,
        peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      };
      console.log(`load report: ${JSON.stringify(report)}`);
      const warnings = new Map<string, number>();
      for (const entry of app.entries().filter((e) => e.level === 'warn' || e.level === 'error')) {
        const kind = `${entry.level} ${entry.msg}`
          .replace(/[0-9a-f]{24}/g, 'ID')
          .replace(/\d+/g, 'N')
          .slice(0, 120);
        warnings.set(kind, (warnings.get(kind) ?? 0) + 1);
      }
      console.log(`load warnings: ${JSON.stringify([...warnings].sort((a, b) => b[1] - a[1]).slice(0, 8))}`);
      if (process.env.LOAD_DEBUG)
        console.log(
          app
            .problems()
            .filter((l) => l.includes('"level":"error"'))
            .slice(0, 3)
            .join('\n'),
        );
      // every request is answered, and with a 2xx: a failed poll is a frontend showing an error
      expect({ uploads: uploadFailures.toJSON(), polls: pollFailures.toJSON() }).toEqual({ uploads: {}, polls: {} });
      expect([up.non2xx, up.errors, up.timeouts]).toEqual([0, 0, 0]);
      expect([polls.non2xx, polls.errors, polls.timeouts]).toEqual([0, 0, 0]);
      expect(acknowledged.size).toBe(SESSIONS * ANSWERS);
      expect(missing).toEqual([]);
      // an answer whose audio was gone when it was looked for was transcribed meanwhile: its transcript
      // is held (the job holds it, deletes the audio, then completes) or the answer is completed by now;
      // with the queue working during the burst, a job is often between those steps at the end of it
      const recheck = await stored();
      const transcribed = (a: any) => a?.transcription_status === 'completed' || Boolean(a?.held_result);
      expect(withoutAudio.filter((key) => !transcribed(recheck.get(key)))).toEqual([]);
      expect(
        [...answers.values()].every((a) => ['queued', 'processing', 'completed'].includes(a.transcription_status)),
      ).toBe(true);
      expect(completed).toBeGreaterThan(0);
      if (process.env.LOAD_FULL_DRAIN) expect(completed).toBe(acknowledged.size);
    },
  );
});
