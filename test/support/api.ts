import jwt from 'jsonwebtoken';
import { TEST_JWT_SECRET } from './app-process.js';
import { checkResponse } from './openapi-check.js';

export function tokenFor(userId: string, options: jwt.SignOptions = {}, secret = TEST_JWT_SECRET): string {
  return jwt.sign({ sub: userId }, secret, { algorithm: 'HS256', expiresIn: 3600, ...options });
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface UploadOptions {
  field?: string;
  filename?: string;
  contentType?: string;
}

/**
 * A frontend's view of the API: real HTTP with a bearer token; every answer is held to the OpenAPI
 * document. The server is a URL, or anything with a `url` read at each request (a server handle
 * that starts after the client is made).
 */
export class ApiClient {
  constructor(
    readonly server: string | { readonly url: string },
    readonly token?: string,
  ) {}

  get baseUrl(): string {
    return typeof this.server === 'string' ? this.server : this.server.url;
  }

  as(userId: string): ApiClient {
    return new ApiClient(this.server, tokenFor(userId));
  }

  async request<T = any>(
    method: string,
    path: string,
    init: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      ...init.headers,
    };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await res.text();
    await checkResponse(method, this.baseUrl + path, { status: res.status, headers: res.headers, text });
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  createSession(questions: { question_id?: string; text: string; model_answer?: string }[], title?: string) {
    return this.request('POST', '/api/sessions', { json: { title, questions } });
  }

  /** Creates a session and returns its id, failing loudly if that did not work. */
  async newSession(questionIds: string[]): Promise<string> {
    const res = await this.createSession(
      questionIds.map((id) => ({ question_id: id, text: `Question ${id}?`, model_answer: `Answer ${id}` })),
    );
    if (res.status !== 201) throw new Error(`could not create a session: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.session_id;
  }

  upload(sessionId: string, questionId: string, audio: Uint8Array, options: UploadOptions = {}) {
    const form = new FormData();
    form.append(
      options.field ?? 'audio',
      new Blob([audio], { type: options.contentType ?? 'audio/webm' }),
      options.filename ?? 'answer.webm',
    );
    return this.request('POST', `/api/upload-answer/${sessionId}/${questionId}`, { body: form });
  }

  answerStatus(sessionId: string, questionId: string) {
    return this.request('GET', `/api/transcription-status/${sessionId}/${questionId}`);
  }

  sessionStatus(sessionId: string) {
    return this.request('GET', `/api/transcription-status/${sessionId}`);
  }

  /** Polls the status endpoint (as the frontend would) until the answer is settled. */
  async waitForAnswer(sessionId: string, questionId: string, statuses = ['completed', 'failed'], timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let last: ApiResponse | undefined;
    while (Date.now() < deadline) {
      last = await this.answerStatus(sessionId, questionId);
      if (last.status === 200 && statuses.includes(last.body.status)) return last.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`answer ${questionId} never reached ${statuses.join('/')}: last ${JSON.stringify(last?.body)}`);
  }
}
