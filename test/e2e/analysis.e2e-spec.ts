import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { eventually, openTestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { seededAnswer, seedSession } from '../support/factories.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { metricsText, sample } from '../support/metrics.js';

const { db, fake, app, clientFor, startApp } = useE2eApp('analysis', {
  // the main server's own: a second one, started in a test, has settings of its own
  server: { env: { SCORING_MODEL: 'gpt-test-scorer', SCORING_MAX_ATTEMPTS: '3', SESSION_WATCH_MS: '100' } },
});
const alice = clientFor('alice');
let tone = 2000;
const freshAudio = () => wavTone(0.5, tone++);

const QUESTIONS = [
  {
    question_id: 'q1',
    text: 'What is a database index?',
    model_answer: 'A data structure that speeds up lookups at the cost of extra writes and storage.',
  },
  {
    question_id: 'q2',
    text: 'What does HTTP 404 mean?',
    model_answer: 'The server cannot find the requested resource.',
  },
  { question_id: 'q3', text: 'Why use TLS?', model_answer: 'To encrypt traffic and authenticate the server.' },
];

/** The default rubric: id, name, weight. */
const DEFAULT_CRITERIA: Array<[string, string, number]> = [
  ['correctness', 'Correctness', 40],
  ['completeness', 'Completeness', 30],
  ['clarity', 'Clarity', 15],
  ['structure', 'Structure', 15],
];

const analyze = (api: ApiClient, sessionId: string, query = '') =>
  api.request('POST', `/api/analyze/${sessionId}${query}`);

describe('POST /api/analyze/:sessionId', () => {
  it('answers 202 with Retry-After while transcriptions are queued or processing', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: { q1: { status: 'processing' }, q2: { status: 'queued' }, q3: { status: 'completed', transcript: 'x' } },
    });
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      status: 'transcription_pending',
      message: 'Waiting for 2 transcriptions to complete',
      pending_count: 1,
      processing_count: 1,
      retry_after: expect.any(Number),
    });
    expect(res.body.retry_after).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('retry-after')).toBe(String(res.body.retry_after));
    expect(fake.chatRequests).toHaveLength(0);
  });

  it('answers 409 listing the failed transcriptions', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: {
        q1: { status: 'completed', transcript: 'fine' },
        q2: { status: 'failed', error: 'The transcription provider rejected the audio (400): bad' },
      },
    });
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(409);
    // an RFC 9457 problem of its own type, whose status member is the HTTP status
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: '/problems/transcription-failed',
      title: 'A transcription failed',
      status: 409,
      statusCode: 409,
      error: 'Conflict',
      failed: [{ question_id: 'q2', error: 'The transcription provider rejected the audio (400): bad' }],
    });
    expect(res.body.detail).toBe(res.body.message);
    expect(res.body.message).toMatch(/transcription-retry/);
  });

  it('scores every criterion of every answer with evidence, counts unanswered questions as 0, stores the result, and never scores twice', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: {
        q1: { status: 'completed', transcript: 'An index speeds up lookups.' },
        q2: { status: 'completed', transcript: 'Not found.' },
      },
    });
    // q1: the default reply, level 3 quoting the whole (short) transcript; q2: level 2 on every criterion
    fake.scriptChat('q2', ...Array.from({ length: 3 }, () => ({ kind: 'criterion' as const, level: 2 })));
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    const criteria = (questionId: string, level: number, evidence: string) =>
      DEFAULT_CRITERIA.map(([id, name, weight]) => ({
        criterion_id: id,
        name,
        weight,
        level,
        score: level * 25,
        rationale: `Fake rationale for ${questionId}/${id}.`,
        evidence,
        method: 'llm',
      }));
    const feedback = (questionId: string) =>
      DEFAULT_CRITERIA.map(([id, name]) => `${name}: Fake rationale for ${questionId}/${id}.`);
    const noDelivery = { status: 'not_measured', duration_seconds: null, speaking_seconds: null, words: null };
    const provenance = (method: string, samples: number) => ({
      method,
      model: method === 'llm' ? 'gpt-test-scorer' : null,
      instructions_version: 'answer-judge/2',
      instructions_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      rubric_hash: method === 'none' ? null : expect.stringMatching(/^[0-9a-f]{64}$/),
      samples,
      scored_at: expect.any(String),
      chat_calls: samples,
      prompt_tokens: method === 'llm' ? expect.any(Number) : 0,
      completion_tokens: method === 'llm' ? expect.any(Number) : 0,
    });
    expect(res.body).toEqual({
      status: 'success',
      final_score: 41.7,
      scored_count: 2,
      answers: [
        {
          question_id: 'q1',
          score: 75,
          feedback: feedback('q1'),
          model_answer: QUESTIONS[0].model_answer,
          transcript: 'An index speeds up lookups.',
          scoring_method: 'llm',
          criteria: criteria('q1', 3, 'An index speeds up lookups'),
          samples: 3,
          spread: 0,
          needs_review: false,
          review_reasons: [],
          provenance: provenance('llm', 3),
          not_scored_reason: null,
          delivery: expect.objectContaining(noDelivery),
        },
        {
          question_id: 'q2',
          score: 50,
          feedback: feedback('q2'),
          model_answer: QUESTIONS[1].model_answer,
          transcript: 'Not found.',
          scoring_method: 'llm',
          criteria: criteria('q2', 2, 'Not found'),
          samples: 3,
          spread: 0,
          needs_review: false,
          review_reasons: [],
          provenance: provenance('llm', 3),
          not_scored_reason: null,
          delivery: expect.objectContaining(noDelivery),
        },
        {
          question_id: 'q3',
          score: 0,
          feedback: ['No answer was recorded for this question.'],
          model_answer: QUESTIONS[2].model_answer,
          transcript: null,
          unanswered: true,
          scoring_method: 'none',
          criteria: [],
          samples: 0,
          spread: null,
          needs_review: false,
          review_reasons: [],
          provenance: provenance('none', 0),
          not_scored_reason: null,
          delivery: expect.objectContaining({ ...noDelivery, status: 'unanswered' }),
        },
      ],
      unanswered: ['q3'],
      needs_review: [],
      delivery: expect.objectContaining({ measured_count: 0, unanswered_count: 1, not_measured_count: 2 }),
      analyzed_at: expect.any(String),
    });
    // one call per sample judging every criterion: 2 answers x 3 samples
    expect(fake.chatRequests).toHaveLength(6);
    for (const q of ['q1', 'q2']) {
      const asked = fake.chatRequests.filter((r) => r.questionId === q);
      expect(asked.map((r) => r.criteria)).toEqual(Array(3).fill(DEFAULT_CRITERIA.map(([id]) => id)));
    }
    const request = fake.chatRequests[0].body;
    expect(request.model).toBe('gpt-test-scorer');
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'answer_judgement', strict: true },
    });
    const schema = request.response_format.json_schema.schema;
    expect(schema.required).toEqual(['criteria', 'addressed_to_evaluator', 'evaluator_quote']);
    expect(schema.properties.criteria.required).toEqual(DEFAULT_CRITERIA.map(([id]) => id));
    expect(schema.properties.criteria.properties.clarity).toEqual({ $ref: '#/$defs/judgement' });
    expect(schema.$defs.judgement.required).toEqual(['level', 'rationale', 'evidence']);
    const asked = JSON.parse(request.messages[1].content);
    expect(asked.criteria.map((c: { id: string }) => c.id)).toEqual(DEFAULT_CRITERIA.map(([id]) => id));
    expect(asked.criteria[0].levels).toHaveLength(5);

    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc).toMatchObject({
      status: 'analyzed',
      analysis_claim: null,
      analysis: { final_score: 41.7, scored_count: 2 },
    });
    expect(doc!.analysis.answers[0].criteria[0]).toMatchObject({ criterion_id: 'correctness', level: 3 });

    const again = await analyze(alice, sessionId);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    expect(fake.chatRequests).toHaveLength(6);

    const upload = await alice.upload(sessionId, 'q3', freshAudio());
    expect(upload.status).toBe(409);
    expect((await alice.as('bob').request('POST', `/api/analyze/${sessionId}`)).status).toBe(404);
  });

  it('asks again only for the criterion whose quote is not in the transcript; after SCORING_MAX_ATTEMPTS that criterion falls back', async () => {
    const transcript = 'An index is a data structure that speeds up lookups, but it costs extra writes and storage.';
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 2),
      answers: {
        q1: { status: 'completed', transcript },
        q2: { status: 'completed', transcript: 'The server cannot find the resource.' },
      },
    });
    const before = await metricsText(app.url);
    // every sample's correctness quote about q1 is words the candidate never said; asked again alone, it is verbatim
    const invented = { correctness: 'an index is a data structure that makes every query instant' };
    fake.scriptChat('q1', ...Array.from({ length: 3 }, () => ({ kind: 'criterion' as const, evidence: invented })));
    fake.scriptChat(
      'q1/correctness',
      ...Array.from({ length: 3 }, () => ({
        kind: 'criterion' as const,
        level: 4,
        evidence: 'SPEEDS UP LOOKUPS,  but it costs extra writes',
      })),
    );
    // every completeness judgement about q2 is unusable: an altered quote, a refusal, an error, malformed
    // JSON, a level out of range, no evidence, a quote too short to support anything
    fake.scriptChat(
      'q2',
      ...Array.from({ length: 3 }, () => ({
        kind: 'criterion' as const,
        evidence: { completeness: 'The server can find the resource.' },
      })),
    );
    fake.scriptChat(
      'q2/completeness',
      { kind: 'refusal' as const },
      { kind: 'status' as const, status: 500 },
      { kind: 'content' as const, content: '{"level": 3}' },
      { kind: 'criterion' as const, level: 7 },
      { kind: 'criterion' as const, level: 2, evidence: '' },
      { kind: 'criterion' as const, level: 2, evidence: 'The server' },
    );
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    const [q1, q2] = res.body.answers;
    const asked = (q: string) => fake.chatRequests.filter((r) => r.questionId === q).map((r) => r.criteria.join(','));
    expect(asked('q1').sort()).toEqual([
      'correctness',
      'correctness',
      'correctness',
      'correctness,completeness,clarity,structure',
      'correctness,completeness,clarity,structure',
      'correctness,completeness,clarity,structure',
    ]);
    expect(q1.criteria[0]).toEqual({
      criterion_id: 'correctness',
      name: 'Correctness',
      weight: 40,
      level: 4,
      score: 100,
      rationale: 'Fake rationale for q1/correctness.',
      // stored as the candidate said it
      evidence: 'speeds up lookups, but it costs extra writes',
      method: 'llm',
    });
    // the other criteria quote eight words each, four words apart
    expect(q1.criteria.map((c: { evidence: string }) => c.evidence).slice(1)).toEqual([
      'data structure that speeds up lookups, but it',
      'up lookups, but it costs extra writes and',
      'lookups, but it costs extra writes and storage',
    ]);
    expect(q1).toMatchObject({ scoring_method: 'llm', samples: 3, spread: 0, score: 85, needs_review: false });
    expect(q1.provenance.chat_calls).toBe(6);
    expect(asked('q2').filter((c) => c === 'completeness')).toHaveLength(6);
    expect(q2.criteria[1]).toEqual({
      criterion_id: 'completeness',
      name: 'Completeness',
      weight: 30,
      level: null,
      score: 83,
      rationale: 'Covered 4 of 5 key terms from the model answer.',
      evidence: null,
      found_terms: ['server', 'cannot', 'find', 'resource'],
      missed_terms: ['request'],
      method: 'local',
    });
    expect(q2.scoring_method).toBe('llm');
    expect(q2.provenance.chat_calls).toBe(9);
    const after = await metricsText(app.url);
    const delta = (series: string) => sample(after, series) - sample(before, series);
    // q1: 3 first calls; q2: 3 first calls and 5 of its re-asks (the sixth failed outright)
    expect(delta('interview_scoring_requests_total{outcome="unusable"}')).toBe(11);
    expect(delta('interview_scoring_requests_total{outcome="error"}')).toBe(1);
    expect(delta('interview_scoring_requests_total{outcome="ok"}')).toBe(3);
    expect(delta('interview_scoring_criterion_fallbacks_total')).toBe(3);
    const tokens = delta('interview_scoring_tokens_total{kind="prompt"}');
    expect(tokens).toBe(q1.provenance.prompt_tokens + q2.provenance.prompt_tokens);
    expect(tokens).toBeGreaterThan(0);
  });

  it('three samples that disagree widely mark the answer needs_review and store their median', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 1),
      answers: { q1: { status: 'completed', transcript: 'An index speeds up lookups.' } },
    });
    fake.setChatDefault({ kind: 'criterion', level: 2 });
    fake.scriptChat(
      'q1',
      { kind: 'criterion', level: 2, levels: { correctness: 0 }, evidence: { correctness: '' } },
      { kind: 'criterion', level: 2, levels: { correctness: 4 } },
      { kind: 'criterion', level: 2 },
    );
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    // samples: 40*0+60*50 = 30, 40*100+60*50 = 70, 40*50+60*50 = 50 (per 100 of weight)
    expect(res.body.answers[0]).toMatchObject({
      score: 50,
      samples: 3,
      spread: 40,
      needs_review: true,
      scoring_method: 'llm',
      review_reasons: [{ code: 'sample_spread', detail: 'The 3 scorings disagree by 40 points (more than 20).' }],
    });
    // the criteria shown are those of the median sample
    expect(res.body.answers[0].criteria[0]).toMatchObject({ criterion_id: 'correctness', level: 2, score: 50 });
    expect(res.body.needs_review).toEqual(['q1']);
    expect(res.body.final_score).toBe(50);
  });

  it('a rubric with weights changes the score as the weights say; a question without one uses the session rubric or the default', async () => {
    const rubric = (accuracy: number, brevity: number) => ({
      criteria: [
        { id: 'accuracy', name: 'Accuracy', weight: accuracy, levels: ['wrong', 'poor', 'fair', 'good', 'exact'] },
        { id: 'brevity', weight: brevity },
      ],
    });
    const scoreWith = async (body: Record<string, unknown>) => {
      const created = await alice.request('POST', '/api/sessions', { json: body });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id: string = created.body.session_id;
      await db.db.collection('interview_sessions').updateOne(
        { _id: new ObjectId(id) },
        {
          $set: {
            'answers.q1': seededAnswer('q1', { status: 'completed', transcript: 'An index speeds up lookups.' }),
            'answers.q2': seededAnswer('q2', { status: 'completed', transcript: 'The server cannot find it.' }),
          },
        },
      );
      return { created, res: await analyze(alice, id) };
    };
    fake.setChatDefault({ kind: 'criterion', level: 0, evidence: '' });
    for (let i = 0; i < 6; i++) {
      fake.scriptChat('q1', { kind: 'criterion', levels: { accuracy: 4, brevity: 0 }, evidence: { brevity: '' } });
    }
    const heavy = await scoreWith({ questions: [{ ...QUESTIONS[0], rubric: rubric(3, 1) }, QUESTIONS[1]] });
    expect(heavy.created.body.questions[0].rubric).toEqual({
      criteria: [
        {
          id: 'accuracy',
          name: 'Accuracy',
          description: '',
          weight: 3,
          levels: ['wrong', 'poor', 'fair', 'good', 'exact'],
        },
        { id: 'brevity', name: 'brevity', description: '', weight: 1, levels: [] },
      ],
    });
    expect(heavy.created.body.questions[1].rubric).toBeNull();
    expect(heavy.res.body.answers[0].score).toBe(75);
    expect(heavy.res.body.answers[0].criteria.map((c: { criterion_id: string }) => c.criterion_id)).toEqual([
      'accuracy',
      'brevity',
    ]);
    expect(heavy.res.body.answers[1].criteria.map((c: { criterion_id: string }) => c.criterion_id)).toEqual(
      DEFAULT_CRITERIA.map(([id]) => id),
    );
    const asked = fake.chatRequests.find((r) => r.criteria.includes('accuracy'))!.body;
    expect(JSON.parse(asked.messages[1].content).criteria).toEqual([
      { id: 'accuracy', name: 'Accuracy', levels: ['wrong', 'poor', 'fair', 'good', 'exact'] },
      { id: 'brevity', name: 'brevity' },
    ]);
    // the same levels with the weights the other way round; the session rubric applies to q2
    const light = await scoreWith({
      rubric: rubric(1, 3),
      questions: [{ ...QUESTIONS[0], rubric: rubric(1, 3) }, QUESTIONS[1]],
    });
    expect(light.res.body.answers[0].score).toBe(25);
    expect(light.res.body.answers[1].criteria.map((c: { criterion_id: string }) => c.criterion_id)).toEqual([
      'accuracy',
      'brevity',
    ]);
  });

  it('refuses a rubric that is not valid, saying why', async () => {
    const cases: Array<[unknown, string]> = [
      [{ criteria: [] }, 'a rubric needs at least one criterion'],
      [
        { criteria: [{ id: 'Bad Id', weight: 1 }] },
        'criterion id must be 1-40 lowercase letters, digits or underscores, starting with a letter',
      ],
      [{ criteria: [{ id: 'a', weight: 0 }] }, 'criterion weight must be a number greater than 0 and at most 100'],
      [{ criteria: [{ id: 'a', weight: 1, levels: ['x', 'y'] }] }, 'levels must describe exactly five levels, 0 to 4'],
      ['strict', 'rubric must be an object { criteria: [...] }'],
    ];
    for (const [rubric, message] of cases) {
      const res = await alice.request('POST', '/api/sessions', { json: { rubric, questions: QUESTIONS } });
      expect(res.status, JSON.stringify(rubric)).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
    }
    const dup = await alice.request('POST', '/api/sessions', {
      json: {
        questions: [
          {
            text: 'Why?',
            rubric: {
              criteria: [
                { id: 'a', weight: 1 },
                { id: 'a', weight: 2 },
              ],
            },
          },
        ],
      },
    });
    expect(dup.status).toBe(400);
    expect(dup.body.message).toBe('questions[0].rubric: criterion id "a" appears more than once; ids must be unique.');
  });

  it('reports delivery per answer and per session in the status view, the analyze result and the export; no speech and unanswered are said, never zeros', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: {
        // 30 words over 12 s of speech plus a 0.5 s gap (speaking) and a 2.5 s pause (not): 30 / 12.5 s = 144 wpm
        q1: {
          status: 'completed',
          transcript: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '),
          speech: {
            duration_seconds: 16,
            speech_seconds: 12,
            pauses: [
              { start: 4, end: 4.5 },
              { start: 8, end: 10.5 },
            ],
          },
        },
        q2: {
          status: 'completed',
          transcript: '',
          noSpeech: true,
          speech: { duration_seconds: 5, speech_seconds: 0, pauses: [] },
        },
      },
    });
    const q1Delivery = {
      status: 'measured',
      duration_seconds: 16,
      speaking_seconds: 12.5,
      words: 30,
      words_per_minute: 144,
      pause_count: 1,
      longest_pause_seconds: 2.5,
      pause_threshold_seconds: 1,
      filler_words: 0,
      filler_words_per_minute: null,
      // seeded as answers measured before the voice-activity detector: no detector to name
      measured_by: null,
    };
    const nothing = {
      speaking_seconds: null,
      words: null,
      words_per_minute: null,
      pause_count: null,
      longest_pause_seconds: null,
      pause_threshold_seconds: 1,
      filler_words: null,
      filler_words_per_minute: null,
      measured_by: null,
    };
    const q2Delivery = { status: 'no_speech', duration_seconds: 5, ...nothing };
    const q3Delivery = { status: 'unanswered', duration_seconds: null, ...nothing };
    const sessionDelivery = {
      measured_count: 1,
      unanswered_count: 1,
      no_speech_count: 1,
      not_measured_count: 0,
      words_per_minute: { mean: 144, min: 144, max: 144 },
      speaking_seconds: { mean: 12.5, min: 12.5, max: 12.5 },
      pause_count: { mean: 1, min: 1, max: 1 },
      longest_pause_seconds: { mean: 2.5, min: 2.5, max: 2.5 },
      filler_words_per_minute: null,
      pause_threshold_seconds: 1,
    };

    const status = await alice.request('GET', `/api/transcription-status/${sessionId}`);
    expect(status.status).toBe(200);
    expect(status.body.answers.map((a: { delivery: unknown }) => a.delivery)).toEqual([q1Delivery, q2Delivery]);
    expect(status.body.delivery).toEqual(sessionDelivery);
    const one = await alice.request('GET', `/api/transcription-status/${sessionId}/q1`);
    expect(one.body.delivery).toEqual(q1Delivery);

    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    expect(res.body.answers.map((a: { delivery: unknown }) => a.delivery)).toEqual([
      q1Delivery,
      q2Delivery,
      q3Delivery,
    ]);
    expect(res.body.delivery).toEqual(sessionDelivery);
    // nothing was heard: no provider call, a 0 with the sentence
    expect(res.body.answers[1]).toMatchObject({
      score: 0,
      feedback: ['No answer was heard.'],
      scoring_method: 'none',
      criteria: [],
      not_scored_reason: 'no_speech',
    });
    expect(fake.chatRequests.filter((r) => r.questionId === 'q2')).toHaveLength(0);

    const exported = await alice.request('GET', `/api/sessions/${sessionId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body.session.answers.map((a: { delivery: unknown }) => a.delivery)).toEqual([
      q1Delivery,
      q2Delivery,
    ]);
    expect(exported.body.session.delivery).toEqual(sessionDelivery);
    expect(exported.body.session.analysis.delivery).toEqual(sessionDelivery);
    expect(exported.body.session.analysis.answers[0].criteria).toHaveLength(4);
  });

  it('records provenance on every score, shows it in the export, and rescores on request keeping the previous result', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 2),
      answers: {
        q1: {
          status: 'completed',
          transcript: 'An index is a data structure that speeds up lookups, but it costs extra writes and storage.',
        },
      },
    });
    fake.setChatDefault({ kind: 'criterion', level: 2 });
    const first = await analyze(alice, sessionId);
    expect(first.status).toBe(200);
    expect(first.body.answers[0].score).toBe(50);
    expect(fake.chatRequests).toHaveLength(3);

    // another user cannot rescore it (nor tell it exists); a malformed flag is refused
    expect((await alice.as('bob').request('POST', `/api/analyze/${sessionId}?rescore=true`)).status).toBe(404);
    const bad = await analyze(alice, sessionId, '?rescore=yes');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('rescore must be true or false');
    // without the flag the stored result comes back, unscored again
    expect((await analyze(alice, sessionId)).body).toEqual(first.body);
    expect(fake.chatRequests).toHaveLength(3);

    fake.setChatDefault({ kind: 'criterion', level: 4 });
    const again = await analyze(alice, sessionId, '?rescore=true');
    expect(again.status).toBe(200);
    expect(again.body.answers[0].score).toBe(100);
    expect(fake.chatRequests).toHaveLength(6);
    expect(Date.parse(again.body.answers[0].provenance.scored_at)).toBeGreaterThan(
      Date.parse(first.body.answers[0].provenance.scored_at),
    );

    const exported = await alice.request('GET', `/api/sessions/${sessionId}/export`);
    expect(exported.status).toBe(200);
    const { analysis, previous_analysis } = exported.body.session;
    expect(analysis.answers[0]).toMatchObject({ score: 100, review_reasons: [], needs_review: false });
    expect(previous_analysis.answers[0]).toMatchObject({ score: 50 });
    expect(previous_analysis.analyzed_at).toBe(first.body.analyzed_at);
    expect(analysis.answers[0].provenance).toEqual({
      method: 'llm',
      model: 'gpt-test-scorer',
      instructions_version: 'answer-judge/2',
      instructions_hash: first.body.answers[0].provenance.instructions_hash,
      rubric_hash: first.body.answers[0].provenance.rubric_hash,
      samples: 3,
      scored_at: again.body.answers[0].provenance.scored_at,
      chat_calls: 3,
      prompt_tokens: again.body.answers[0].provenance.prompt_tokens,
      completion_tokens: again.body.answers[0].provenance.completion_tokens,
    });
    expect(analysis.answers[0].provenance.prompt_tokens).toBeGreaterThan(100);
    expect(analysis.answers[1].provenance).toMatchObject({
      method: 'none',
      model: null,
      rubric_hash: null,
      samples: 0,
    });

    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc).toMatchObject({ status: 'analyzed', analysis_claim: null });
    expect(doc!.previous_analysis.answers[0].score).toBe(50);
    expect(doc!.analysis.answers[0].provenance.instructions_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('scores exactly once when two analyze requests arrive at the same moment', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 2),
      answers: { q1: { status: 'completed', transcript: 'one' }, q2: { status: 'completed', transcript: 'two' } },
    });
    fake.setChatDefault({ kind: 'criterion', level: 3, delayMs: 100 });
    // the second waits for the first one's result (without a wait it would get 202 scoring_in_progress)
    const [a, b] = await Promise.all([analyze(alice, sessionId, '?wait=10'), analyze(alice, sessionId, '?wait=10')]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body).toEqual(b.body);
    expect(fake.chatRequests).toHaveLength(2 * 3);
  });

  it('refuses a wait over 30 seconds or one that is not a number', async () => {
    const sessionId = await seedSession(db.db, { userId: 'alice', questions: QUESTIONS });
    for (const query of ['?wait=31', '?wait=abc', '?wait=-1', '?wait=1.5']) {
      const res = await analyze(alice, sessionId, query);
      expect(res.status, query).toBe(400);
      expect(res.body.message).toBe('wait must be a whole number of seconds from 0 to 30');
    }
  });

  it('with ?wait, answers the moment the last transcription finishes', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    let release!: () => void;
    fake.script('q2', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const a1 = freshAudio();
    const a2 = freshAudio();
    await alice.upload(sessionId, 'q1', a1);
    await alice.upload(sessionId, 'q2', a2);
    await fake.waitFor(() => fake.requestsFor('q2').length === 1);
    const started = Date.now();
    const pending = analyze(alice, sessionId, '?wait=20');
    setTimeout(() => release(), 700);
    const res = await pending;
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(5_000);
    expect(res.body.answers.map((a: { transcript: string }) => a.transcript)).toEqual([
      expectedTranscript(sha256Of(a1)),
      expectedTranscript(sha256Of(a2)),
    ]);
  });

  it('with ?wait, gives the 202 body when the wait runs out', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'stall' });
    await alice.upload(sessionId, 'q1', freshAudio());
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);
    const started = Date.now();
    const res = await analyze(alice, sessionId, '?wait=1');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'transcription_pending', processing_count: 1, pending_count: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('across instances', () => {
  it('a waiting analyze notices a transcription finished by another server', async () => {
    const other = await startApp({ SESSION_WATCH_MS: '100' });
    try {
      const viaOther = new ApiClient(other.url, tokenFor('alice'));
      const sessionId = await viaOther.newSession(['q1']);
      let release!: () => void;
      fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
      await viaOther.upload(sessionId, 'q1', freshAudio());
      await fake.waitFor(() => fake.requestsFor('q1').length === 1);
      const pending = analyze(alice, sessionId, '?wait=20');
      setTimeout(() => release(), 500);
      const started = Date.now();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      // the job's log line reaches this process through the server's stdout, a moment after its write
      await eventually(async () =>
        expect(other.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(true),
      );
      expect(app.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(false);
    } finally {
      await other.stop();
    }
  });
});

describe('without OPENAI_API_KEY', () => {
  it('scores with the deterministic local scorer, which ranks a good answer above an off-topic one', async () => {
    const own = await openTestDatabase('localscore');
    const keyless = await AppProcess.start({ mongodbUri: own.uri, apiKey: null });
    try {
      const api = new ApiClient(keyless.url, tokenFor('erin'));
      const make = () =>
        seedSession(own.db, {
          userId: 'erin',
          questions: QUESTIONS.slice(0, 2),
          answers: {
            q1: {
              status: 'completed',
              transcript: 'An index is a data structure that speeds up lookups, but it costs extra writes and storage.',
            },
            q2: { status: 'completed', transcript: 'I enjoy hiking in the mountains on weekends.' },
          },
        });
      const first = await analyze(api, await make());
      const second = await analyze(api, await make());
      expect(first.status).toBe(200);
      const [good, offTopic] = first.body.answers;
      expect(good.scoring_method).toBe('local');
      expect(good.score).toBeGreaterThanOrEqual(70);
      expect(offTopic.score).toBeLessThanOrEqual(10);
      expect(offTopic.feedback).toContain('Not mentioned: server, cannot, find, request, resource.');
      // the same shape as the LLM's: what key terms can judge (completeness), null for the rest
      const notJudged = (id: string, name: string, weight: number) => ({
        criterion_id: id,
        name,
        weight,
        level: null,
        score: null,
        rationale: 'Not judged: it needs the LLM scorer (OPENAI_API_KEY).',
        evidence: null,
        method: 'none',
      });
      expect(offTopic.criteria).toEqual([
        notJudged('correctness', 'Correctness', 40),
        {
          criterion_id: 'completeness',
          name: 'Completeness',
          weight: 30,
          level: null,
          score: offTopic.score,
          rationale: 'Covered 0 of 5 key terms from the model answer.',
          evidence: null,
          found_terms: [],
          missed_terms: ['server', 'cannot', 'find', 'request', 'resource'],
          method: 'local',
        },
        notJudged('clarity', 'Clarity', 15),
        notJudged('structure', 'Structure', 15),
      ]);
      expect(good.criteria[1]).toMatchObject({
        found_terms: ['data', 'structure', 'speed', 'lookup', 'cost', 'extra', 'writ', 'storage'],
        missed_terms: [],
      });
      expect(good).toMatchObject({ samples: 1, spread: null, needs_review: false });
      const timeless = (answers: Array<{ provenance: { scored_at: string } }>) =>
        answers.map((a) => ({ ...a, provenance: { ...a.provenance, scored_at: 'x' } }));
      expect(timeless(second.body.answers)).toEqual(timeless(first.body.answers));
      expect(good.provenance).toMatchObject({ method: 'local', model: null, samples: 1, chat_calls: 0 });
      // this server sent no chat completion (the shared fake may still hear the main server's eager
      // scoring of an answer an earlier test left transcribing)
      const keylessMetrics = await metricsText(keyless.url);
      for (const outcome of ['ok', 'unusable', 'error']) {
        expect(sample(keylessMetrics, `interview_scoring_requests_total{outcome="${outcome}"}`)).toBe(0);
      }
      expect(sample(keylessMetrics, 'interview_answers_scored_total{method="local",review="ok"}')).toBe(4);
    } finally {
      await keyless.stop();
      await own.drop();
    }
  });
});
