import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What the fake does with one chat completion (the scorer asks about one criterion of one answer).
 * `criterion` replies with a level (default 3), a rationale, and as evidence the given quote or, by
 * default, the transcript's first five words.
 */
export type ChatBehavior =
  | { kind: 'criterion'; level?: number; rationale?: string; evidence?: string; delayMs?: number }
  | { kind: 'content'; content: string }
  | { kind: 'refusal' }
  | { kind: 'status'; status: number };

export interface ChatRequest {
  questionId: string;
  criterionId: string;
  model: string;
  body: any;
  receivedAt: number;
}

/**
 * POST /v1/chat/completions as the scorer calls it: the user message is the JSON of one question,
 * criterion and transcript; the reply is scripted per question (or question/criterion).
 */
export class ChatEndpoint {
  readonly requests: ChatRequest[] = [];
  private readonly scripts = new Map<string, ChatBehavior[]>();
  private defaultBehavior: ChatBehavior = { kind: 'criterion' };

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
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const user = body.messages?.find((m: { role: string }) => m.role === 'user')?.content ?? '{}';
    const asked = JSON.parse(user);
    const questionId: string = asked.question_id ?? '';
    const criterionId: string = asked.criterion_id ?? '';
    this.requests.push({ questionId, criterionId, model: body.model, body, receivedAt: Date.now() });
    const behavior =
      this.scripts.get(`${questionId}/${criterionId}`)?.shift() ??
      this.scripts.get(questionId)?.shift() ??
      this.defaultBehavior;
    const message = (content: string | null, refusal: string | null = null) => ({
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal } }],
    });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    switch (behavior.kind) {
      case 'criterion': {
        if (behavior.delayMs) await new Promise((r) => setTimeout(r, behavior.delayMs));
        const transcript: string = asked.transcript ?? '';
        const evidence = behavior.evidence ?? transcript.split(/\s+/).filter(Boolean).slice(0, 5).join(' ');
        return send(
          200,
          message(
            JSON.stringify({
              level: behavior.level ?? (evidence ? 3 : 0),
              rationale: behavior.rationale ?? `Fake rationale for ${questionId}/${criterionId}.`,
              evidence,
            }),
          ),
        );
      }
      case 'content':
        return send(200, message(behavior.content));
      case 'refusal':
        return send(200, message(null, 'I cannot help with that.'));
      case 'status':
        return send(behavior.status, { error: { message: `scripted ${behavior.status}`, type: 'server_error' } });
    }
  }
}
