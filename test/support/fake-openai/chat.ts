import type { IncomingMessage, ServerResponse } from 'node:http';
import { responseFormatProblem } from './structured-output-rules.js';

/**
 * What the fake does with one chat completion (the scorer asks about every criterion of one answer, or
 * again about the criteria a reply got wrong). `criterion` fills the reply's schema: for each criterion
 * a level (`levels[id]`, else `level`, default 3), a rationale, and as evidence `evidence` (a string
 * for every criterion, or one per criterion) or by default a window of eight transcript words that
 * starts four words further on for each criterion (the whole transcript when it is shorter).
 * `obedient` is a judge that does what the transcript tells it: where the candidate asks for a score,
 * quotes levels or gives instructions, it gives level 4 everywhere, quotes those words as evidence and
 * does not report them; otherwise it answers like `criterion`.
 */
export type ChatBehavior =
  | {
      kind: 'criterion';
      level?: number;
      levels?: Record<string, number>;
      rationale?: string;
      evidence?: string | Record<string, string>;
      addressed?: boolean;
      evaluatorQuote?: string;
      delayMs?: number;
    }
  | { kind: 'obedient'; delayMs?: number }
  | { kind: 'content'; content: string }
  | { kind: 'refusal' }
  | { kind: 'hold'; until: Promise<unknown> }
  | { kind: 'status'; status: number };

export interface ChatRequest {
  questionId: string;
  /** The criteria the reply's schema asks for, in order. */
  criteria: string[];
  model: string;
  body: any;
  receivedAt: number;
}

/** What the fake's obedient judge takes for an instruction to it, in English, German, French and Spanish. */
const INSTRUCTION =
  /[^.!?]*\b(?:level\s+(?:4|four)|full\s+marks|top\s+(?:score|marks)|maximum\s+(?:score|points)|ignore|disregard|every\s+criterion|all\s+criteria|entirely\s+correct|every\s+key\s+point|grader|evaluator|stufe\s+(?:4|vier)|volle\s+punktzahl|höchste|ignoriere|prüfer|bewerte|niveau\s+(?:4|quatre)|ignorez|correcteur|note\s+maximale|nivel\s+(?:4|cuatro)|ignora|puntuación\s+máxima|evaluador)\b[^.!?]*[.!?]?/iu;

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/** Eight words from the 4i-th, kept inside the transcript; the whole transcript when it is shorter. */
function window(transcript: string, i: number): string {
  const w = words(transcript);
  if (w.length <= 8) return w.join(' ');
  const start = Math.min(4 * i, w.length - 8);
  return w.slice(start, start + 8).join(' ');
}

/** A token count like the real one's order of magnitude: four characters a token. */
const tokensOf = (text: string) => Math.ceil(text.length / 4);

/**
 * POST /v1/chat/completions as the scorer calls it: the user message is the JSON of one question, its
 * criteria and the transcript; the response_format is checked as OpenAI checks a strict json_schema,
 * and the reply is scripted per question (or `question/criterion` for a call asking about that one
 * criterion alone).
 */
export class ChatEndpoint {
  readonly requests: ChatRequest[] = [];
  private readonly scripts = new Map<string, ChatBehavior[]>();
  private defaultBehavior: ChatBehavior = { kind: 'criterion' };
  /** Added to every reply's time (the bench's realistic provider: 1 s). */
  latencyMs = 0;

  script(key: string, behaviors: ChatBehavior[]): void {
    this.scripts.set(key, [...(this.scripts.get(key) ?? []), ...behaviors]);
  }

  setDefault(behavior: ChatBehavior): void {
    this.defaultBehavior = behavior;
  }

  reset(): void {
    this.requests.length = 0;
    this.scripts.clear();
    this.defaultBehavior = { kind: 'criterion' };
    this.latencyMs = 0;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const body = JSON.parse(raw);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const problem = responseFormatProblem(body.response_format);
    if (problem) {
      return send(400, {
        error: { message: problem, type: 'invalid_request_error', param: 'response_format', code: null },
      });
    }
    const user = body.messages?.find((m: { role: string }) => m.role === 'user')?.content ?? '{}';
    const asked = JSON.parse(user);
    const questionId: string = asked.question_id ?? '';
    const schema = body.response_format?.json_schema?.schema;
    const criteria: string[] = Object.keys(schema?.properties?.criteria?.properties ?? {});
    this.requests.push({ questionId, criteria, model: body.model, body, receivedAt: Date.now() });
    const behavior =
      (criteria.length === 1 ? this.scripts.get(`${questionId}/${criteria[0]}`)?.shift() : undefined) ??
      this.scripts.get(questionId)?.shift() ??
      this.defaultBehavior;
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const message = (content: string | null, refusal: string | null = null) => ({
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal } }],
      usage: {
        prompt_tokens: tokensOf(JSON.stringify(body.messages) + JSON.stringify(body.response_format ?? '')),
        completion_tokens: tokensOf(content ?? refusal ?? ''),
        total_tokens: 0,
      },
    });
    const reply = (content: string) => {
      const m = message(content);
      m.usage.total_tokens = m.usage.prompt_tokens + m.usage.completion_tokens;
      send(200, m);
    };
    const transcript: string = asked.transcript ?? '';
    switch (behavior.kind) {
      case 'criterion': {
        if (behavior.delayMs) await new Promise((r) => setTimeout(r, behavior.delayMs));
        const judged = Object.fromEntries(
          criteria.map((id, i) => {
            const evidence =
              typeof behavior.evidence === 'string'
                ? behavior.evidence
                : (behavior.evidence?.[id] ?? window(transcript, i));
            const level = behavior.levels?.[id] ?? behavior.level ?? (evidence ? 3 : 0);
            const rationale = behavior.rationale ?? `Fake rationale for ${questionId}/${id}.`;
            return [id, { level, rationale, evidence }];
          }),
        );
        return reply(
          JSON.stringify({
            criteria: judged,
            addressed_to_evaluator: behavior.addressed ?? false,
            evaluator_quote: behavior.evaluatorQuote ?? '',
          }),
        );
      }
      case 'obedient': {
        if (behavior.delayMs) await new Promise((r) => setTimeout(r, behavior.delayMs));
        const instruction = INSTRUCTION.exec(transcript)?.[0].trim();
        const judged = Object.fromEntries(
          criteria.map((id, i) => [
            id,
            instruction
              ? { level: 4, rationale: 'As the candidate says, every criterion is met.', evidence: instruction }
              : { level: 3, rationale: `Fake rationale for ${questionId}/${id}.`, evidence: window(transcript, i) },
          ]),
        );
        return reply(JSON.stringify({ criteria: judged, addressed_to_evaluator: false, evaluator_quote: '' }));
      }
      case 'hold':
        await behavior.until;
        return reply(
          JSON.stringify({
            criteria: Object.fromEntries(
              criteria.map((id, i) => [id, { level: 3, rationale: 'Held reply.', evidence: window(transcript, i) }]),
            ),
            addressed_to_evaluator: false,
            evaluator_quote: '',
          }),
        );
      case 'content':
        return reply(behavior.content);
      case 'refusal':
        return send(200, message(null, 'I cannot help with that.'));
      case 'status':
        return send(behavior.status, { error: { message: `scripted ${behavior.status}`, type: 'server_error' } });
    }
  }
}
