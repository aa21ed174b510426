import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import { eventually } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

let collector: OtlpReceiver;
let tone = 5200;

// a collector for every test, registered before the fixture: it is there when the test's servers
// start, and closes after they are killed
beforeEach(async () => {
  collector = await OtlpReceiver.start();
});
afterEach(async () => {
  await collector.close();
});
// a database of its own for every test, which starts its servers (killed after it)
const { fake, startApp } = useE2eApp('tracing', { scope: 'test' });

/** Tracing to the local receiver, exported every 100 ms rather than every 5 s. */
const tracingEnv = () => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

const UPLOAD_ROUTE = 'POST /api/upload-answer/:sessionId/:questionId';

/** The spans of one answer, from the upload to the transcript, by name; each must exist once. */
async function spansOfAnswer(sessionId: string, questionId: string) {
  const ofAnswer = (s: ReceivedSpan) =>
    s.attributes['interview.session_id'] === sessionId && s.attributes['interview.question_id'] === questionId;
  await eventually(async () => {
    expect(collector.spans.filter((s) => s.name === 'transcription.complete' && ofAnswer(s))).toHaveLength(1);
  }, 15_000);
  const upload = collector.spans.find((s) => s.name === 'answer.upload' && ofAnswer(s))!;
  const inTrace = collector.spans.filter((s) => s.traceId === upload.traceId);
  const one = (name: string) => {
    const found = inTrace.filter((s) => s.name === name);
    expect(found, name).toHaveLength(1);
    return found[0];
  };
  return {
    upload,
    all: inTrace,
    server: one(UPLOAD_ROUTE),
    gridfs: one('gridfs.write'),
    claim: one('transcription.claim'),
    attempt: one('transcription.attempt'),
    provider: one('provider.transcribe'),
    complete: one('transcription.complete'),
  };
}

describe('OpenTelemetry tracing', () => {
  it("forms one trace from the upload to the transcript across processes, continuing the caller's, and logs its id", async () => {
    // the upload on an api instance, its transcription on a worker: the trace goes with the answer
    const [app, worker] = await Promise.all([
      startApp({ ...tracingEnv(), ROLE: 'api' }),
      startApp({ ...tracingEnv(), ROLE: 'worker', TRANSCRIPTION_POLL_MS: '100' }),
    ]);
    expect(app.logs.join('\n')).toContain('tracing to OTLP');
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const form = new FormData();
    form.append('audio', new Blob([wavTone(0.5, tone++)], { type: 'audio/wav' }), 'a.wav');
    const res = await api.request('POST', `/api/upload-answer/${sessionId}/q1`, {
      body: form,
      headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, 'x-request-id': 'traced-upload-1' },
    });
    expect(res.status).toBe(202);
    expect((await api.waitForAnswer(sessionId, 'q1')).status).toBe('completed');

    const spans = await spansOfAnswer(sessionId, 'q1');
    expect(spans.upload.traceId).toBe(callerTrace);
    // the request's span continues the caller's; the background job joins the upload's trace
    expect(spans.server.parentSpanId).toBe(callerSpan);
    expect(spans.server.kind).toBe(2); // SERVER
    expect(spans.server.attributes).toMatchObject({ 'http.route': '/api/upload-answer/:sessionId/:questionId' });
    expect(spans.server.attributes['http.response.status_code']).toBe(202);
    expect(spans.upload.parentSpanId).toBe(spans.server.spanId);
    expect(spans.gridfs.parentSpanId).toBe(spans.upload.spanId);
    expect(Number(spans.gridfs.attributes['gridfs.size_bytes'])).toBeGreaterThan(0);
    expect(spans.claim.parentSpanId).toBe(spans.upload.spanId);
    expect(spans.claim.attributes['transcription.claimed']).toBe(true);
    expect(spans.attempt.parentSpanId).toBe(spans.upload.spanId);
    expect(spans.provider.parentSpanId).toBe(spans.attempt.spanId);
    expect(spans.provider.kind).toBe(3); // CLIENT
    expect(spans.provider.attributes['gen_ai.request.model']).toBe('gpt-transcribe');
    expect(spans.complete.parentSpanId).toBe(spans.attempt.spanId);
    expect(spans.upload.resource['service.name']).toBe('voice-interview-backend');
    expect(spans.upload.resource['process.pid']).toBe(app.pid);
    expect(spans.claim.resource['process.pid']).toBe(worker.pid);
    expect(spans.all.every((s) => s.status?.code !== 2)).toBe(true); // no errors
    // the provider is told the trace, so a provider that traces can join it
    expect(fake.requests[0].traceparent).toBe(`00-${callerTrace}-${spans.provider.spanId}-01`);

    // every line of the upload request and of its transcription carries the trace id
    await eventually(async () => {
      const lines = [...app.entries(), ...worker.entries()].filter((e) => e.req_id === 'traced-upload-1');
      expect(lines.some((e) => e.msg === 'request completed')).toBe(true);
      expect(lines.some((e) => e.msg.startsWith('transcribed session='))).toBe(true);
      expect(lines.filter((e) => e.trace_id !== callerTrace)).toEqual([]);
    });
  });

  it('starts a trace of its own when the caller sends none, one per answer, kept across a retry', async () => {
    const app = await startApp(tracingEnv());
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1', 'q2']);
    fake.script('q2', { kind: 'status', status: 503 }, { kind: 'ok' });
    await api.upload(sessionId, 'q1', wavTone(0.5, tone++));
    await api.upload(sessionId, 'q2', wavTone(0.5, tone++));
    await api.waitForAnswer(sessionId, 'q1');
    await api.waitForAnswer(sessionId, 'q2');
    const first = await spansOfAnswer(sessionId, 'q1');
    expect(first.server.parentSpanId ?? '').toBe('');
    await eventually(async () =>
      expect(
        collector.spans.filter((s) => s.name === 'transcription.attempt' && s.traceId !== first.upload.traceId),
      ).toHaveLength(2),
    );
    // q2's failed attempt and the one that succeeded are in q2's trace, not q1's
    const q2 = collector.spans.filter((s) => s.attributes['interview.question_id'] === 'q2');
    expect(new Set(q2.map((s) => s.traceId)).size).toBe(1);
    expect(q2[0].traceId).not.toBe(first.upload.traceId);
    const attempts = q2.filter((s) => s.name === 'transcription.attempt');
    expect(attempts.map((s) => s.attributes['transcription.attempt']).sort()).toEqual([1, 2]);
    const failed = collector.spans.filter((s) => s.name === 'provider.transcribe' && s.status?.code === 2);
    expect(failed).toHaveLength(1);
    expect(failed[0].traceId).toBe(q2[0].traceId);
  });

  it('is off without an OTLP endpoint: nothing is exported and log lines carry no trace id', async () => {
    const app = await startApp({});
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    await api.upload(sessionId, 'q1', wavTone(0.5, tone++));
    await api.waitForAnswer(sessionId, 'q1');
    await new Promise((r) => setTimeout(r, 300));
    expect(collector.spans).toHaveLength(0);
    expect(fake.requests[0].traceparent).toBeUndefined();
    expect(app.entries().filter((e) => 'trace_id' in e)).toEqual([]);
    expect(app.logs.join('\n')).not.toContain('tracing to OTLP');
  });
});
