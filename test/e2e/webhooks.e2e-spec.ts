import { createHmac, randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { eventually, openTestDatabase, type TestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';

/** Standard Webhooks secrets: whsec_ and the base64 of random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const SECRET = newSecret();
/** Receiving on 127.0.0.1 over http needs both escape hatches; production keeps them off. */
const WEBHOOK_ENV = {
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_POLL_MS: '100',
  WEBHOOK_TIMEOUT_MS: '1000',
};

let tone = 3100;
const freshAudio = () => wavTone(0.5, tone++);

// a database and a receiver of their own for every test, which starts its servers (killed after it)
const { db, fake, receiver, startApp } = useE2eApp('webhooks', {
  scope: 'test',
  env: WEBHOOK_ENV,
  webhooks: { secret: SECRET },
});
afterEach(() => {
  // every delivery the service made passed the standardwebhooks package's verification
  expect(receiver.received.filter((r) => r.refused !== null).map((r) => r.refused)).toEqual([]);
});

function createWithWebhook(api: ApiClient, url: string) {
  return api.request('POST', '/api/sessions', { json: { questions: [{ text: 'Why?' }], webhook_url: url } });
}

async function newHookedSession(api: ApiClient, ids: string[], url = receiver.url): Promise<string> {
  const res = await api.request('POST', '/api/sessions', {
    json: {
      webhook_url: url,
      questions: ids.map((id) => ({ question_id: id, text: `Question ${id}?`, model_answer: `Answer ${id}` })),
    },
  });
  expect(res.status).toBe(201);
  return res.body.session_id;
}

describe('events', () => {
  it('posts transcriptions.completed once all questions are transcribed, then session.analyzed, signed', async () => {
    const app = await startApp();
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1', 'q2']);
    expect((await api.request('GET', `/api/sessions/${sessionId}`)).body.webhook_url).toBe(receiver.url);

    await api.upload(sessionId, 'q1', freshAudio());
    await api.waitForAnswer(sessionId, 'q1');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(0); // q2 is still unanswered

    await api.upload(sessionId, 'q2', freshAudio());
    const [completed] = await receiver.waitFor(1, 'transcriptions.completed');
    expect(completed.json).toMatchObject({
      type: 'transcriptions.completed',
      data: { session_id: sessionId, user_id: 'alice' },
    });
    expect(completed.json.data.answers.map((a: { question_id: string }) => a.question_id)).toEqual(['q1', 'q2']);
    expect(completed.body).not.toContain('transcript of'); // ids and times, never transcripts

    const analyzed = await api.request('POST', `/api/analyze/${sessionId}`);
    expect(analyzed.status).toBe(200);
    const [event] = await receiver.waitFor(1, 'session.analyzed');
    expect(event.json.data).toMatchObject({
      session_id: sessionId,
      final_score: analyzed.body.final_score,
      scored_count: 2,
    });

    for (const delivery of receiver.received) {
      expect(delivery.refused).toBeNull(); // verified by the standardwebhooks package
      expect(delivery.headers['webhook-id']).toBe(delivery.json.id);
      expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(delivery.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.json.timestamp).toBe(delivery.json.created_at);
      // the earlier headers only when WEBHOOK_LEGACY_SECRET asks for them
      expect(Object.keys(delivery.headers).filter((h) => h.startsWith('x-webhook-'))).toEqual([]);
    }
    expect(receiver.received).toHaveLength(2);

    // the attempt is recorded once the receiver's answer is in, a moment after it received the event
    await eventually(async () => {
      const log = await api.request('GET', `/api/sessions/${sessionId}/webhook-deliveries`);
      expect(log.status).toBe(200);
      expect(log.body.deliveries.map((d: any) => [d.event, d.status, d.attempts.length])).toEqual([
        ['transcriptions.completed', 'delivered', 1],
        ['session.analyzed', 'delivered', 1],
      ]);
      expect(log.body.deliveries[0].attempts[0]).toMatchObject({ status_code: 200, error: null });
    });
    expect((await api.as('mallory').request('GET', `/api/sessions/${sessionId}/webhook-deliveries`)).status).toBe(404);
  });

  it('a replayed delivery (older than five minutes) and a tampered one fail verification', async () => {
    const app = await startApp();
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    const [delivery] = await receiver.waitFor(1, 'transcriptions.completed');
    expect(delivery.refused).toBeNull();
    const post = (headers: Record<string, string>, body: string) =>
      fetch(receiver.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    const signed = {
      'webhook-id': String(delivery.headers['webhook-id']),
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': String(delivery.headers['webhook-signature']),
    };

    const tampered = delivery.body.replace(sessionId, '0'.repeat(24));
    expect((await post(signed, tampered)).status).toBe(400);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 6 * 60 * 1000 });
    try {
      expect((await post(signed, delivery.body)).status).toBe(400);
    } finally {
      vi.useRealTimers();
    }
    expect(receiver.received.slice(1).map((r) => r.refused)).toEqual([
      'No matching signature found',
      'Message timestamp too old',
    ]);
    receiver.received.splice(1); // the two the test itself sent
  });

  it('signs with every secret in WEBHOOK_SECRET while one is rotated', async () => {
    const next = newSecret();
    const app = await startApp({ WEBHOOK_SECRET: `${next} ${SECRET}` });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    const [delivery] = await receiver.waitFor(1, 'transcriptions.completed');
    expect(delivery.refused).toBeNull(); // the receiver still holds the old secret
    expect(String(delivery.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(new Webhook(next).verify(delivery.body, delivery.headers as Record<string, string>)).toMatchObject({
      id: delivery.json.id,
    });
    expect(() => new Webhook(newSecret()).verify(delivery.body, delivery.headers as Record<string, string>)).toThrow(
      'No matching signature found',
    );
  });

  it('adds the earlier X-Webhook-* headers, signed as before, only with WEBHOOK_LEGACY_SECRET', async () => {
    const legacy = 'webhook-secret-for-tests-0123456789';
    const app = await startApp({ WEBHOOK_LEGACY_SECRET: legacy });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    const [delivery] = await receiver.waitFor(1, 'transcriptions.completed');
    expect(delivery.refused).toBeNull();
    const timestamp = Number(delivery.headers['x-webhook-timestamp']);
    const expected = createHmac('sha256', legacy).update(`${timestamp}.${delivery.body}`).digest('hex');
    expect(delivery.headers['x-webhook-signature']).toBe(`v1=${expected}`);
    expect(delivery.headers['x-webhook-id']).toBe(delivery.json.id);
    expect(delivery.headers['x-webhook-event']).toBe('transcriptions.completed');
    expect(String(timestamp)).toBe(delivery.headers['webhook-timestamp']);
  });

  it('posts transcription.failed when an answer fails for good', async () => {
    const app = await startApp();
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    fake.script('q1', { kind: 'status', status: 400, message: 'Audio file is corrupt' });
    await api.upload(sessionId, 'q1', freshAudio());
    const [failed] = await receiver.waitFor(1, 'transcription.failed');
    expect(failed.json.data).toMatchObject({ session_id: sessionId, question_id: 'q1', attempts: 1 });
    // receivers get our sentence, never the provider's text
    expect(failed.json.data.error).toBe(
      'The transcription provider rejected the audio (400); check that the recording plays, then upload it again.',
    );
  });
});

describe('delivery', () => {
  it('retries with growing backoff and records every attempt', async () => {
    const app = await startApp();
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    receiver.script({ status: 500 }, { status: 503 }, { status: 500 });
    await api.upload(sessionId, 'q1', freshAudio());
    const received = await receiver.waitFor(4);
    expect(new Set(received.map((r) => r.json.id)).size).toBe(1); // the same event each time
    expect(new Set(received.map((r) => r.body)).size).toBe(1); // byte for byte
    const gaps = received.slice(1).map((r, i) => r.receivedAt - received[i].receivedAt);
    // base 100 ms doubling with ±20 % jitter: ~100, ~200, ~400 (plus the poll interval)
    expect(gaps[0]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThan(gaps[0]);

    await eventually(async () => {
      const log = await api.request('GET', `/api/sessions/${sessionId}/webhook-deliveries`);
      const [delivery] = log.body.deliveries;
      expect(delivery.status).toBe('delivered');
      expect(delivery.attempts.map((a: any) => [a.status_code, a.error])).toEqual([
        [500, 'HTTP 500'],
        [503, 'HTTP 503'],
        [500, 'HTTP 500'],
        [200, null],
      ]);
    });
  });

  it('gives up after WEBHOOK_MAX_RETRIES, and records a timeout as an error', async () => {
    const app = await startApp({ WEBHOOK_MAX_RETRIES: '2', WEBHOOK_TIMEOUT_MS: '300' });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    receiver.script({ stall: true }, { status: 502 }, { status: 502 }, { status: 200 });
    await api.upload(sessionId, 'q1', freshAudio());
    await receiver.waitFor(3);
    await eventually(async () => {
      const [delivery] = (await api.request('GET', `/api/sessions/${sessionId}/webhook-deliveries`)).body.deliveries;
      expect(delivery.status).toBe('failed');
      expect(delivery.attempts.map((a: any) => [a.status_code, a.error])).toEqual([
        [null, 'no response within 300 ms'],
        [502, 'HTTP 502'],
        [502, 'HTTP 502'],
      ]);
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(receiver.received).toHaveLength(3);
  });

  it('keeps pending deliveries across a crash and delivers them after the restart', async () => {
    const port = Number(new URL(receiver.url).port);
    await receiver.close(); // the receiver is down: connection refused
    const first = await startApp({ WEBHOOK_RETRY_BASE_MS: '60000' });
    const api = new ApiClient(first.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    const deliveries = db.db.collection('webhook_deliveries');
    await eventually(async () => {
      const stored = await deliveries.findOne({ session_id: new ObjectId(sessionId) });
      expect(stored?.attempts).toHaveLength(1);
      expect(stored?.attempts[0]).toMatchObject({ status_code: null, error: 'the connection was refused' });
    });
    await first.kill();
    // due now: the next instance delivers at once instead of waiting out the minute
    await deliveries.updateOne({ session_id: new ObjectId(sessionId) }, { $set: { next_attempt_at: new Date() } });

    await receiver.listen(port);
    await startApp();
    const [event] = await receiver.waitFor(1, 'transcriptions.completed');
    expect(event.json.data.session_id).toBe(sessionId);
    await eventually(async () =>
      expect(await deliveries.findOne({ session_id: new ObjectId(sessionId) })).toMatchObject({
        status: 'delivered',
        attempts: [{ status_code: null }, { status_code: 200, error: null }],
      }),
    );
  });

  it('checks the address again at every delivery: names when connecting (DNS rebinding), literal IPs before', async () => {
    const app = await startApp({ WEBHOOK_ALLOW_PRIVATE: 'false' });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const port = new URL(receiver.url).port;
    const urls = { named: `http://localhost:${port}/hooks`, literal: `http://127.0.0.1:${port}/hooks` };
    for (const [question, url] of Object.entries(urls)) {
      const sessionId = await api.newSession([question]);
      // as if the name had been re-pointed at this host after the session was created
      await db.db
        .collection('interview_sessions')
        .updateOne({ _id: new ObjectId(sessionId) }, { $set: { webhook_url: url } });
      await api.upload(sessionId, question, freshAudio());
      await api.waitForAnswer(sessionId, question);
      await eventually(async () => {
        const stored = await db.db.collection('webhook_deliveries').findOne({ session_id: new ObjectId(sessionId) });
        expect(stored?.attempts?.[0]?.status_code).toBeNull();
        // the owner reads this log: it says why, never what the name resolved to
        expect(stored?.attempts?.[0]?.error).toBe('refused: the host is not a public address');
      });
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('erasing a session deletes its webhook events', async () => {
    const app = await startApp();
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await newHookedSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    await receiver.waitFor(1);
    expect(await db.db.collection('webhook_deliveries').countDocuments()).toBe(1);
    expect((await api.request('DELETE', `/api/sessions/${sessionId}`)).status).toBe(204);
    expect(await db.db.collection('webhook_deliveries').countDocuments()).toBe(0);
  });
});

describe('webhook_url at session creation', () => {
  // one server with the production rules (https only, public addresses only) for the whole table
  it.each([
    ['http://example.com/hook', 'webhook_url must use https.'],
    ['ftp://example.com/hook', 'webhook_url must use https.'],
    ['not a url', 'webhook_url must be an absolute URL, e.g. https://example.com/hooks/interviews.'],
    ['https://user:pw@example.com/hook', 'webhook_url must not carry a user name or password; put secrets elsewhere.'],
    ['https://127.0.0.1/hook', 'webhook_url must point to a public address; 127.0.0.1 is not one.'],
    // a host name's answer is never told: an internal name and one that does not resolve read alike
    ['https://localhost/hook', 'webhook_url\'s host "localhost" does not resolve to a public address.'],
    [
      'https://no-such-host.invalid/hook',
      'webhook_url\'s host "no-such-host.invalid" does not resolve to a public address.',
    ],
    ['https://10.1.2.3/hook', 'webhook_url must point to a public address; 10.1.2.3 is not one.'],
    ['https://192.168.0.10/hook', 'webhook_url must point to a public address; 192.168.0.10 is not one.'],
    [
      'https://169.254.169.254/latest/meta-data',
      'webhook_url must point to a public address; 169.254.169.254 is not one.',
    ],
    ['https://[::1]/hook', 'webhook_url must point to a public address; ::1 is not one.'],
    ['https://[fd00:ec2::254]/hook', 'webhook_url must point to a public address; fd00:ec2::254 is not one.'],
    ['https://[::ffff:127.0.0.1]/hook', 'webhook_url must point to a public address; ::ffff:7f00:1 is not one.'],
  ] as const)('refuses %s', async (url, message) => {
    strictDb ??= await openTestDatabase('webhooks-strict');
    strict ??= await AppProcess.start({
      mongodbUri: strictDb.uri,
      env: { ...WEBHOOK_ENV, WEBHOOK_ALLOW_HTTP: 'false', WEBHOOK_ALLOW_PRIVATE: 'false' },
    });
    const res = await createWithWebhook(new ApiClient(strict.url, tokenFor('alice')), url);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
    expect(res.body.message).not.toMatch(/resolves to|127\.0\.0\.1.*127\.0\.0\.1|::1.*::1/);
  });

  it('refuses any webhook_url when the server has no WEBHOOK_SECRET', async () => {
    const app = await startApp({ WEBHOOK_SECRET: '' });
    const res = await createWithWebhook(new ApiClient(app.url, tokenFor('alice')), 'https://example.com/hook');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('webhook_url cannot be used: this server has no WEBHOOK_SECRET configured.');
  });
});

// Not the fixture's: its servers and databases last one test, and this one serves the whole table.
let strict: AppProcess | undefined;
let strictDb: TestDatabase | undefined;
afterAll(async () => {
  await strict?.kill();
  await strictDb?.drop();
});
