import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ChatEndpoint, type ChatBehavior, type ChatRequest } from './fake-openai/chat.js';
import { answerModels, type ModelScript } from './fake-openai/models.js';
import type { TranscriptionRequest } from './fake-openai/recorded-request.js';
import { OPENAI_MAX_FILE_BYTES } from './fake-openai/transcription-rules.js';
import { TranscriptionEndpoint, type Behavior } from './fake-openai/transcriptions.js';

export type { ChatBehavior, ChatRequest } from './fake-openai/chat.js';
export { sha256Of, type TranscriptionRequest } from './fake-openai/recorded-request.js';
export { expectedTranscript, OPENAI_MAX_FILE_BYTES } from './fake-openai/transcription-rules.js';
export type { Behavior } from './fake-openai/transcriptions.js';

export interface FakeOpenAIOptions {
  /** ffprobe every received file and record its duration (costs a process per request). */
  probeAudio?: boolean;
  maxFileBytes?: number;
}

/**
 * A real HTTP server on 127.0.0.1 speaking OpenAI's wire format (transcriptions, chat completions,
 * models), reached by the app through the real openai SDK. Each question can be scripted to fail,
 * stall or be slow; every request is recorded. Made with `new` it can be scripted before it
 * listens (`listen()`); `FakeOpenAI.start()` does both.
 */
export class FakeOpenAI {
  url = '';
  /** GET /v1/models/{id}: scripted models; others are known without a shutdown date, unless unknownModels. */
  readonly models = new Map<string, ModelScript>();
  /** false: the server has no /v1/models at all (404 for every models route), like whisper.cpp's. */
  modelsEndpoint = true;
  readonly modelReads: string[] = [];
  private readonly transcriptions: TranscriptionEndpoint;
  private readonly chat = new ChatEndpoint();
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(options: FakeOpenAIOptions = {}) {
    this.transcriptions = new TranscriptionEndpoint({
      probeAudio: options.probeAudio ?? false,
      maxFileBytes: options.maxFileBytes ?? OPENAI_MAX_FILE_BYTES,
    });
  }

  static start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    return new FakeOpenAI(options).listen();
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return this;
  }

  /** Every transcription request received since the last reset, in order. */
  get requests(): TranscriptionRequest[] {
    return this.transcriptions.requests;
  }

  get chatRequests(): ChatRequest[] {
    return this.chat.requests;
  }

  /** Transcription requests being answered now, and the most at once since the last reset. */
  get inFlight(): number {
    return this.transcriptions.inFlight;
  }

  get maxInFlight(): number {
    return this.transcriptions.maxInFlight;
  }

  /**
   * The next requests for `questionId` get these behaviours, in order; then the default.
   * `q1/part-002` scripts only the third piece of a split recording of q1.
   */
  script(questionId: string, ...behaviors: Behavior[]): void {
    this.transcriptions.script(questionId, behaviors);
  }

  /**
   * The next chat completions about `questionId` get these behaviours, in order; then the default.
   * `q1/clarity` scripts only the completions asking about criterion clarity of q1 alone (a re-ask),
   * and comes first.
   */
  scriptChat(questionId: string, ...behaviors: ChatBehavior[]): void {
    this.chat.script(questionId, behaviors);
  }

  setChatDefault(behavior: ChatBehavior): void {
    this.chat.setDefault(behavior);
  }

  /** Every chat completion takes this long before its reply (until reset). */
  setChatLatency(ms: number): void {
    this.chat.latencyMs = ms;
  }

  setDefault(behavior: Behavior): void {
    this.transcriptions.setDefault(behavior);
  }

  /** Forgets the requests and scripts, and goes back to the default behaviours. */
  reset(): void {
    this.transcriptions.reset();
    this.chat.reset();
  }

  requestsFor(questionId: string): TranscriptionRequest[] {
    return this.requests.filter((r) => r.questionId === questionId);
  }

  async waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`fake OpenAI: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.transcriptions.dropStalled();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) return this.chat.handle(req, res);
    if (req.method === 'GET' && req.url?.startsWith('/v1/models') && this.modelsEndpoint) {
      return answerModels(req, res, this.models, this.modelReads);
    }
    if (req.method === 'POST' && req.url?.startsWith('/v1/audio/transcriptions')) {
      return this.transcriptions.handle(req, res);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
  }
}
