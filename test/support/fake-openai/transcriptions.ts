import type { IncomingMessage, ServerResponse } from 'node:http';
import { readTranscriptionRequest, type TranscriptionRequest } from './recorded-request.js';
import { refusalOf, transcriptionBody } from './transcription-rules.js';

/** What the fake provider does with one transcription request. */
export type Behavior =
  | {
      kind: 'ok';
      text?: string;
      delayMs?: number;
      /** Added per second of the audio received (its ffprobe duration: start the fake with probeAudio). */
      delayPerAudioSecondMs?: number;
    }
  | {
      kind: 'status';
      status: number;
      message?: string;
      /** The refused parameter and the error's code and type, as OpenAI's error bodies name them. */
      param?: string;
      code?: string;
      type?: string;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | { kind: 'stall' }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'hold'; until: Promise<unknown>; text?: string };

/**
 * POST /v1/audio/transcriptions: records every request, refuses what the real endpoint refuses,
 * and otherwise answers as scripted per question (or piece of a split recording).
 */
export class TranscriptionEndpoint {
  readonly requests: TranscriptionRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly scripts = new Map<string, Behavior[]>();
  private defaultBehavior: Behavior = { kind: 'ok' };
  private readonly stalled = new Set<ServerResponse>();

  constructor(private readonly options: { probeAudio: boolean; maxFileBytes: number }) {}

  script(key: string, behaviors: Behavior[]): void {
    this.scripts.set(key, [...(this.scripts.get(key) ?? []), ...behaviors]);
  }

  setDefault(behavior: Behavior): void {
    this.defaultBehavior = behavior;
  }

  reset(): void {
    this.requests.length = 0;
    this.scripts.clear();
    this.defaultBehavior = { kind: 'ok' };
    this.maxInFlight = this.inFlight;
  }

  /** Lets go of the requests scripted to stall (the server is closing). */
  dropStalled(): void {
    for (const res of this.stalled) res.destroy();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    let record: TranscriptionRequest;
    try {
      record = await readTranscriptionRequest(req, this.options.probeAudio);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad multipart: ${(error as Error).message}` } }));
      return;
    }
    this.requests.push(record);
    const refusal = refusalOf(record, this.options.maxFileBytes);
    if (refusal) return this.reply(res, record, refusal.status, refusal.body);
    const pieceKey = `${record.questionId}/part-${String(record.piece).padStart(3, '0')}`;
    const behavior =
      (record.piece !== undefined ? this.scripts.get(pieceKey)?.shift() : undefined) ??
      this.scripts.get(record.questionId)?.shift() ??
      this.defaultBehavior;
    await this.act(behavior, res, record);
  }

  private async act(behavior: Behavior, res: ServerResponse, record: TranscriptionRequest): Promise<void> {
    switch (behavior.kind) {
      case 'ok': {
        const delay = (behavior.delayMs ?? 0) + (behavior.delayPerAudioSecondMs ?? 0) * (record.durationSeconds ?? 0);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        return this.reply(res, record, 200, transcriptionBody(record, behavior.text));
      }
      case 'hold':
        await behavior.until;
        return this.reply(res, record, 200, transcriptionBody(record, behavior.text));
      case 'status':
        if (behavior.delayMs) await new Promise((r) => setTimeout(r, behavior.delayMs));
        return this.reply(
          res,
          record,
          behavior.status,
          {
            error: {
              message: behavior.message ?? `scripted ${behavior.status}`,
              type: behavior.type ?? 'server_error',
              param: behavior.param ?? null,
              code: behavior.code ?? null,
            },
          },
          behavior.headers,
        );
      case 'stall':
        this.stalled.add(res);
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"text": "unterminated');
        return;
    }
  }

  private reply(
    res: ServerResponse,
    record: TranscriptionRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body), () => {
      if (status === 200) record.answered = true;
    });
  }
}
