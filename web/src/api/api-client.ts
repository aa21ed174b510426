import { ApiError, errorFromResponse, networkError } from './api-error';
import { uploadResumable } from './resumable-upload';
import type {
  AnalysisOutcome,
  AuthConfig,
  CreatedSession,
  DevToken,
  QuestionInput,
  RetryAccepted,
  SessionTranscriptionStatus,
  SessionView,
  UploadAccepted,
} from './types';

export interface AnalyzeResponse {
  httpStatus: number;
  body: AnalysisOutcome;
  retryAfterSeconds?: number;
}

/** The interview API over fetch, with the candidate's bearer token. Errors are ApiErrors. */
export class ApiClient {
  constructor(
    readonly token: string,
    readonly baseUrl = '',
  ) {}

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${this.token}`);
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, { ...init, headers });
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error;
      throw networkError();
    }
    return res;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.send(path, init);
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json()) as T;
  }

  createSession(title: string, questions: QuestionInput[]): Promise<CreatedSession> {
    return this.json('/api/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title, questions }),
    });
  }

  uploadAnswer(sessionId: string, questionId: string, recording: Blob, signal?: AbortSignal) {
    const form = new FormData();
    form.append('audio', recording, `answer.${extensionOf(recording.type)}`);
    return this.json<UploadAccepted>(
      `/api/upload-answer/${encodeURIComponent(sessionId)}/${encodeURIComponent(questionId)}`,
      { method: 'POST', body: form, signal },
    );
  }

  /** The same answer through the resumable (tus) endpoint, resuming `uploadUrl` when given (see uploadResumable). */
  uploadAnswerResumable(
    sessionId: string,
    questionId: string,
    recording: Blob,
    options: {
      uploadUrl?: string;
      lengthDeferred?: boolean;
      onUploadUrl?: (url: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<UploadAccepted | null> {
    return uploadResumable({ token: this.token, baseUrl: this.baseUrl, sessionId, questionId, recording, ...options });
  }

  getSession(sessionId: string) {
    return this.json<SessionView>(`/api/sessions/${encodeURIComponent(sessionId)}`);
  }

  retryTranscription(sessionId: string, questionId: string) {
    return this.json<RetryAccepted>(
      `/api/transcription-retry/${encodeURIComponent(sessionId)}/${encodeURIComponent(questionId)}`,
      { method: 'POST' },
    );
  }

  sessionStatus(sessionId: string) {
    return this.json<SessionTranscriptionStatus>(`/api/transcription-status/${encodeURIComponent(sessionId)}`);
  }

  /** 200 scored, 202 still transcribing, 409 a transcription failed: all three are answers, not errors. */
  async analyze(sessionId: string, signal?: AbortSignal): Promise<AnalyzeResponse> {
    const res = await this.send(`/api/analyze/${encodeURIComponent(sessionId)}`, { method: 'POST', signal });
    if (res.status !== 200 && res.status !== 202 && res.status !== 409) throw await errorFromResponse(res);
    const retryAfter = Number(res.headers.get('Retry-After'));
    return {
      httpStatus: res.status,
      body: (await res.json()) as AnalysisOutcome,
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  }

  /** The event stream needs the token in a header, which EventSource cannot send: fetch it instead. */
  openEventStream(sessionId: string, signal: AbortSignal): Promise<Response> {
    return this.send(`/api/sessions/${encodeURIComponent(sessionId)}/events`, {
      headers: { Accept: 'text/event-stream' },
      signal,
    });
  }
}

function extensionOf(mimeType: string): string {
  if (mimeType.includes('ogg')) return 'ogg';
  if (mimeType.includes('mp4')) return 'm4a';
  if (mimeType.includes('wav')) return 'wav';
  return 'webm';
}

/** Asks the server whether development sign-in is on, and uses it. No token needed. */
export async function devLoginEnabled(baseUrl = ''): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/api/auth/config`);
    if (!res.ok) return false;
    return ((await res.json()) as AuthConfig).dev_login === true;
  } catch {
    return false;
  }
}

export async function requestDevToken(userId: string, baseUrl = ''): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/api/auth/dev-token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: userId }),
    });
  } catch {
    throw networkError();
  }
  if (!res.ok) throw await errorFromResponse(res);
  return ((await res.json()) as DevToken).token;
}

export { ApiError };
