import busboy from 'busboy';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the fake provider does with one transcription request. */
export type Behavior =
  | { kind: 'ok'; text?: string; delayMs?: number }
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

export interface TranscriptionRequest {
  questionId: string;
  /** Which piece of a split recording this is (from the file name), or undefined for a whole one. */
  piece?: number;
  filename: string;
  contentType: string;
  model: string;
  language?: string;
  /** Sent as keywords[] (gpt-transcribe's hint list). */
  keywords?: string[];
  languages?: string[];
  prompt?: string;
  responseFormat?: string;
  /** Every form field as received, arrays under their name without []. */
  fields: Record<string, string | string[]>;
  authorization?: string;
  /** The W3C trace context the caller sent, when it traces. */
  traceparent?: string;
  bytes: number;
  sha256: string;
  /** The received audio's duration as ffprobe reads it, when the fake was started with probeAudio. */
  durationSeconds?: number;
  receivedAt: number;
  /** Set when the request got a 200 with a transcript. */
  answered: boolean;
  status?: number;
}

/** The transcript the fake returns by default: derived from the audio bytes it received. */
export function expectedTranscript(sha256: string): string {
  return `transcript of ${sha256.slice(0, 16)}`;
}

/** What the real endpoint allows per file (and what it answers above it). */
export const OPENAI_MAX_FILE_BYTES = 26_214_400;

export interface FakeOpenAIOptions {
  /** ffprobe every received file and record its duration (costs a process per request). */
  probeAudio?: boolean;
  maxFileBytes?: number;
}

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A real HTTP server on 127.0.0.1 speaking OpenAI's /v1/audio/transcriptions wire format, reached by
 * the app through the real openai SDK. Each question can be scripted to fail, stall or be slow.
 */
export class FakeOpenAI {
  readonly requests: TranscriptionRequest[] = [];
  readonly chatRequests: ChatRequest[] = [];
  private readonly chatScripts = new Map<string, ChatBehavior[]>();
  private chatDefault: ChatBehavior = { kind: 'criterion' };
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  private readonly scripts = new Map<string, Behavior[]>();
  private defaultBehavior: Behavior = { kind: 'ok' };
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<ServerResponse>();
  url = '';
  /** GET /v1/models/{id}: scripted models; others are known without a shutdown date, unless unknownModels. */
  readonly models = new Map<string, { shutdown_date?: string | null } | 'unknown'>();
  /** false: the server has no /v1/models at all (404 for every models route), like whisper.cpp's. */
  modelsEndpoint = true;
  readonly modelReads: string[] = [];
  private probeAudio = false;
  private maxFileBytes = OPENAI_MAX_FILE_BYTES;

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI();
    fake.probeAudio = options.probeAudio ?? false;
    fake.maxFileBytes = options.maxFileBytes ?? OPENAI_MAX_FILE_BYTES;
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}/v1`;
    return fake;
  }

  /**
   * The next requests for `questionId` get these behaviours, in order; then the default.
   * `q1/part-002` scripts only the third piece of a split recording of q1.
   */
  script(questionId: string, ...behaviors: Behavior[]): void {
    this.scripts.set(questionId, [...(this.scripts.get(questionId) ?? []), ...behaviors]);
  }

  /**
   * The next chat completions about `questionId` get these behaviours, in order; then the default.
   * `q1/clarity` scripts only the completions about criterion clarity of q1 (they come first).
   */
  scriptChat(questionId: string, ...behaviors: ChatBehavior[]): void {
    this.chatScripts.set(questionId, [...(this.chatScripts.get(questionId) ?? []), ...behaviors]);
  }

  setChatDefault(behavior: ChatBehavior): void {
    this.chatDefault = behavior;
  }

  setDefault(behavior: Behavior): void {
    this.defaultBehavior = behavior;
  }

  reset(): void {
    this.requests.length = 0;
    this.scripts.clear();
    this.chatRequests.length = 0;
    this.chatScripts.clear();
    this.chatDefault = { kind: 'criterion' };
    this.defaultBehavior = { kind: 'ok' };
    this.maxInFlight = this.inFlight;
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
    for (const res of this.stalled) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) return this.handleChat(req, res);
    if (req.method === 'GET' && req.url?.startsWith('/v1/models') && this.modelsEndpoint)
      return this.handleModels(req, res);
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/audio/transcriptions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }),
      );
      return;
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    let record: TranscriptionRequest;
    try {
      record = await this.readUpload(req);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad multipart: ${(error as Error).message}` } }));
      return;
    }
    this.requests.push(record);
    if (!record.authorization?.startsWith('Bearer ')) {
      return this.reply(res, record, 401, { error: { message: 'Missing API key', type: 'invalid_request_error' } });
    }
    if (record.bytes > this.maxFileBytes) {
      // the real endpoint's answer to an oversized file
      return this.reply(res, record, 413, {
        error: {
          message: `Maximum content size limit (${this.maxFileBytes}) exceeded (${record.bytes} bytes read)`,
          type: 'server_error',
          param: null,
          code: null,
        },
      });
    }
    const refused = refusedParameter(record);
    if (refused) {
      return this.reply(res, record, 400, {
        error: {
          message: refused.message,
          type: 'invalid_request_error',
          param: refused.param,
          code: refused.code ?? 'unsupported_value',
        },
      });
    }
    const pieceKey = `${record.questionId}/part-${String(record.piece).padStart(3, '0')}`;
    const behavior =
      (record.piece !== undefined ? this.scripts.get(pieceKey)?.shift() : undefined) ??
      this.scripts.get(record.questionId)?.shift() ??
      this.defaultBehavior;
    await this.act(behavior, res, record);
  }

  private async act(behavior: Behavior, res: ServerResponse, record: TranscriptionRequest): Promise<void> {
    switch (behavior.kind) {
      case 'ok':
        if (behavior.delayMs) await new Promise((r) => setTimeout(r, behavior.delayMs));
        return this.reply(res, record, 200, this.transcription(record, behavior.text));
      case 'hold':
        await behavior.until;
        return this.reply(res, record, 200, this.transcription(record, behavior.text));
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

  /**
   * The body of a 200: {text} for json; for verbose_json also language, duration and one segment
   * per started 30 s of audio (duration from ffprobe with probeAudio, else as if 16 kHz 16-bit PCM).
   */
  private transcription(record: TranscriptionRequest, text = expectedTranscript(record.sha256)) {
    if (record.responseFormat !== 'verbose_json') return { text };
    const duration = record.durationSeconds ?? Math.round((record.bytes / 32_000) * 100) / 100;
    const count = Math.max(1, Math.ceil(duration / 30));
    const segments = Array.from({ length: count }, (_, i) => ({
      id: i,
      start: i * 30,
      end: Math.min(duration, (i + 1) * 30),
      text: ` ${text} [${i}]`,
    }));
    return { task: 'transcribe', language: 'english', duration, text, segments };
  }

  private handleModels(req: IncomingMessage, res: ServerResponse): void {
    const id = decodeURIComponent(req.url!.slice('/v1/models'.length).replace(/^\//, '').split('?')[0]);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!id) return send(200, { object: 'list', data: [] });
    this.modelReads.push(id);
    const scripted = this.models.get(id);
    if (scripted === 'unknown') {
      return send(404, {
        error: { message: `The model '${id}' does not exist`, type: 'invalid_request_error', code: 'model_not_found' },
      });
    }
    send(200, { id, object: 'model', created: 0, owned_by: 'system', shutdown_date: scripted?.shutdown_date ?? null });
  }

  private async handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const user = body.messages?.find((m: { role: string }) => m.role === 'user')?.content ?? '{}';
    const asked = JSON.parse(user);
    const questionId: string = asked.question_id ?? '';
    const criterionId: string = asked.criterion_id ?? '';
    this.chatRequests.push({ questionId, criterionId, model: body.model, body, receivedAt: Date.now() });
    const behavior =
      this.chatScripts.get(`${questionId}/${criterionId}`)?.shift() ??
      this.chatScripts.get(questionId)?.shift() ??
      this.chatDefault;
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

  private async readUpload(req: IncomingMessage): Promise<TranscriptionRequest> {
    const copy = this.probeAudio ? join(tmpdir(), `fake-openai-${randomBytes(6).toString('hex')}`) : undefined;
    const record = await new Promise<TranscriptionRequest>((resolve, reject) => {
      const fields: Record<string, string | string[]> = {};
      const hash = createHash('sha256');
      let bytes = 0;
      let filename = '';
      let contentType = '';
      let written: Promise<unknown> = Promise.resolve();
      const parser = busboy({ headers: req.headers });
      parser.on('field', (name, value) => {
        if (name.endsWith('[]')) {
          const key = name.slice(0, -2);
          fields[key] = [...((fields[key] as string[] | undefined) ?? []), value];
        } else fields[name] = value;
      });
      parser.on('file', (_name, file, info) => {
        filename = info.filename ?? '';
        contentType = info.mimeType;
        file.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        if (copy) {
          const out = createWriteStream(copy);
          file.pipe(out);
          written = finished(out);
        }
      });
      parser.on('error', reject);
      parser.on('close', () => {
        const name = /^answer-(.+?)(?:-part-(\d+))?\.[a-z0-9]+$/.exec(filename);
        void written.then(() =>
          resolve({
            questionId: name?.[1] ?? filename,
            piece: name?.[2] === undefined ? undefined : Number(name[2]),
            filename,
            contentType,
            model: fields.model as string,
            language: fields.language as string | undefined,
            keywords: fields.keywords as string[] | undefined,
            languages: fields.languages as string[] | undefined,
            prompt: fields.prompt as string | undefined,
            responseFormat: fields.response_format as string | undefined,
            fields,
            authorization: req.headers.authorization,
            traceparent: req.headers.traceparent as string | undefined,
            bytes,
            sha256: hash.digest('hex'),
            receivedAt: Date.now(),
            answered: false,
          }),
        );
      });
      req.on('error', reject);
      req.pipe(parser);
    });
    if (copy) {
      record.durationSeconds = await probeDuration(copy);
      await rm(copy, { force: true });
    }
    return record;
  }
}

/**
 * What OpenAI's current models refuse, as the real endpoint answers it: gpt-* transcription models
 * answer json only; keywords and languages are gpt-transcribe's alone, and its keywords must be
 * single-line strings without "<" or ">" (OpenAI's documentation for gpt-transcribe).
 */
function refusedParameter(
  record: TranscriptionRequest,
): { message: string; param: string | null; code?: string } | undefined {
  const openAiGpt = /^gpt-/.test(record.model ?? '');
  if (openAiGpt && record.responseFormat && !['json', 'text'].includes(record.responseFormat)) {
    return {
      message: `response_format '${record.responseFormat}' is not compatible with model '${record.model}'. Use 'json' or 'text'.`,
      param: 'response_format',
    };
  }
  const gptTranscribe = /^gpt-transcribe/.test(record.model ?? '');
  if (!gptTranscribe && record.keywords) {
    return { message: `keywords is not supported with model '${record.model}'.`, param: 'keywords' };
  }
  if (!gptTranscribe && record.languages) {
    return { message: `languages is not supported with model '${record.model}'.`, param: 'languages' };
  }
  const bad = (record.keywords ?? []).findIndex((k) => /[\r\n<>]/.test(k));
  if (bad >= 0) {
    return {
      message: `Invalid 'keywords[${bad}]': keywords must be single-line strings and must not contain '<' or '>'.`,
      param: `keywords[${bad}]`,
      code: 'invalid_value',
    };
  }
  return undefined;
}

function probeDuration(file: string): Promise<number | undefined> {
  return new Promise((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], (error, out) => {
      const seconds = Number(String(out).trim());
      resolve(error || !Number.isFinite(seconds) ? undefined : seconds);
    }),
  );
}
