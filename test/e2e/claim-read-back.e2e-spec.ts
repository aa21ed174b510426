import { ObjectId } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import type { WireCommand } from '../support/database-proxy.js';
import { eventually } from '../support/database.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { metricsText, sample } from '../support/metrics.js';
import { useProxiedApp } from '../support/proxied-app.js';

/*
 * A claim is one conditional write. When the database applies it but the answer never arrives (a
 * time limit, a broken connection), the claimer cannot tell whether it holds the claim. It reads
 * the session back: held, it works the claim now, instead of leaving an answer claimed by nobody
 * until its lease lapses (and then paying a second attempt). A completion is read back the same
 * way: applied, the answer is done, and is announced as done. The faults are injected on the wire
 * between the built server and the real database.
 */

const LEASE_MS = 20_000;
const ENV = { TRANSCRIPTION_LEASE_MS: String(LEASE_MS), SCORING_EAGER: 'true' };

const t = useProxiedApp('claimreadback', ENV);
let alice: ApiClient;
let tone = 700;

beforeAll(() => {
  alice = new ApiClient(t.app.url, tokenFor('alice'));
});

const setOf = (command: WireCommand) =>
  (command.body.update as { $set?: Record<string, unknown> } | undefined)?.$set ?? {};
const isSessionWrite = (c: WireCommand) => c.collection === 'interview_sessions' && c.name === 'findAndModify';

/** The transcription claim of `question`'s answer: queued → processing. */
const transcriptionClaim = (question: string) => (c: WireCommand) =>
  isSessionWrite(c) && setOf(c)[`answers.${question}.transcription_status`] === 'processing';

/** The scoring claim of `question`'s answer (answer_scores.<q> set to a record being scored). */
const scoringClaim = (question: string) => (c: WireCommand) =>
  isSessionWrite(c) && (setOf(c)[`answer_scores.${question}`] as { status?: string } | undefined)?.status === 'scoring';

/** The completion of `question`'s answer: processing → completed, the transcript stored. */
const completion = (question: string) => (c: WireCommand) =>
  isSessionWrite(c) && setOf(c)[`answers.${question}.transcription_status`] === 'completed';

/** The value of one series of the server's /metrics (0 when it has none yet). */
const metric = async (series: string) => sample(await metricsText(t.app.url), series);
const COMPLETED = 'interview_transcriptions_total{outcome="completed"}';
const DROPPED = 'interview_transcriptions_total{outcome="dropped"}';

const session = (id: string) => t.db.db.collection('interview_sessions').findOne({ _id: new ObjectId(id) });

describe('a claim or a completion whose answer is lost after the database applied it', () => {
  it('transcription: the job reads the session back, holds the claim and transcribes now, once, in its first attempt', async () => {
    const sessionId = await alice.newSession(['t1']);
    const audio = wavTone(0.5, tone++);
    const hit = t.proxy.inject({ match: transcriptionClaim('t1'), action: { kind: 'fail-after' } });
    const started = Date.now();
    expect((await alice.upload(sessionId, 't1', audio)).status).toBe(202);
    await hit;
    const answer = await alice.waitForAnswer(sessionId, 't1');
    expect(answer).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio)) });
    // now, not once the lease the lost answer left has lapsed
    expect(Date.now() - started).toBeLessThan(LEASE_MS / 2);
    expect((await session(sessionId))?.answers.t1).toMatchObject({ transcription_status: 'completed', attempts: 1 });
    expect(t.fake.requestsFor('t1')).toHaveLength(1);
    expect(t.app.logs.some((l) => l.includes('but the session holds it: going on'))).toBe(true);
  });

  it('eager scoring: the scorer reads the session back, holds the claim and stores the score now, paying once', async () => {
    const sessionId = await alice.newSession(['s1']);
    const hit = t.proxy.inject({ match: scoringClaim('s1'), action: { kind: 'fail-after' } });
    expect((await alice.upload(sessionId, 's1', wavTone(0.5, tone++))).status).toBe(202);
    await hit;
    // the claim's lease is SCORING_CLAIM_MS (5 minutes): without the read-back nobody scores it before then
    await eventually(async () => {
      expect((await session(sessionId))?.answer_scores?.s1).toMatchObject({ status: 'scored', claim_id: null });
    }, 10_000);
    expect(t.fake.chatRequests.filter((r) => r.questionId === 's1')).toHaveLength(3);
    expect(t.app.logs.some((l) => l.includes('the scoring claim on question=s1 answered'))).toBe(true);
  });

  it('completion: the job reads the session back, finds its transcript stored and carries on as completed: the answer is scored at once', async () => {
    const sessionId = await alice.newSession(['c1']);
    const audio = wavTone(0.5, tone++);
    const [completedBefore, droppedBefore] = [await metric(COMPLETED), await metric(DROPPED)];
    const hit = t.proxy.inject({ match: completion('c1'), action: { kind: 'fail-after' } });
    expect((await alice.upload(sessionId, 'c1', audio)).status).toBe(202);
    await hit;
    expect(await alice.waitForAnswer(sessionId, 'c1')).toMatchObject({
      status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
    });
    // the eager scorer hears of a completion only from the write that made it: a completion taken
    // for lost (dropped) is scored by nobody until analyze
    await eventually(async () => {
      expect((await session(sessionId))?.answer_scores?.c1).toMatchObject({ status: 'scored', claim_id: null });
    }, 10_000);
    expect((await session(sessionId))?.answers.c1).toMatchObject({
      transcription_status: 'completed',
      attempts: 1,
      claim_id: null,
      gridfs_file_id: null,
    });
    expect(t.fake.requestsFor('c1')).toHaveLength(1);
    expect(t.proxy.commands.filter(completion('c1'))).toHaveLength(1);
    expect(await metric(COMPLETED)).toBe(completedBefore + 1);
    expect(await metric(DROPPED)).toBe(droppedBefore);
    expect(t.app.logs.some((l) => l.includes('the completion of') && l.includes('but the session holds it'))).toBe(
      true,
    );
    expect(t.app.logs.some((l) => l.includes('dropped the transcript'))).toBe(false);
  });
});
