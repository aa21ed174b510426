import { request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';
import type { ApiClient, ApiResponse } from './api.js';

/** A tus 1.0 client spoken by hand over the shared ApiClient (so every answer is checked against the OpenAPI document). */
export class TusClient {
  constructor(readonly api: ApiClient) {}

  static metadata(fields: Record<string, string>): string {
    return Object.entries(fields)
      .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
      .join(',');
  }

  create(sessionId: string, questionId: string, size: number): Promise<ApiResponse> {
    return this.api.request('POST', '/api/uploads', {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(size),
        'upload-metadata': TusClient.metadata({ session_id: sessionId, question_id: questionId }),
      },
    });
  }

  /** Creates an upload whose length comes with a later PATCH (tus creation-defer-length). */
  createDeferred(sessionId: string, questionId: string): Promise<ApiResponse> {
    return this.api.request('POST', '/api/uploads', {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-defer-length': '1',
        'upload-metadata': TusClient.metadata({ session_id: sessionId, question_id: questionId }),
      },
    });
  }

  /** Creates an upload of deferred length and returns its id, failing loudly otherwise. */
  async startDeferred(sessionId: string, questionId: string): Promise<string> {
    const res = await this.createDeferred(sessionId, questionId);
    if (res.status !== 201) throw new Error(`tus create (deferred): ${res.status} ${JSON.stringify(res.body)}`);
    return res.headers.get('location')!.split('/').at(-1)!;
  }

  /** Creates an upload and returns its id, failing loudly otherwise. */
  async start(sessionId: string, questionId: string, size: number): Promise<string> {
    const res = await this.create(sessionId, questionId, size);
    if (res.status !== 201) throw new Error(`tus create: ${res.status} ${JSON.stringify(res.body)}`);
    const location = res.headers.get('location')!;
    return location.split('/').at(-1)!;
  }

  head(id: string): Promise<ApiResponse> {
    return this.api.request('HEAD', `/api/uploads/${id}`, { headers: { 'tus-resumable': '1.0.0' } });
  }

  async offset(id: string): Promise<number> {
    const res = await this.head(id);
    if (res.status !== 200) throw new Error(`tus HEAD: ${res.status}`);
    return Number(res.headers.get('upload-offset'));
  }

  /** `length`: the Upload-Length of an upload created with a deferred one, sent with these bytes. */
  patch(id: string, offset: number, bytes: Uint8Array, length?: number): Promise<ApiResponse> {
    return this.api.request('PATCH', `/api/uploads/${id}`, {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        ...(length === undefined ? {} : { 'upload-length': String(length) }),
      },
      body: bytes as unknown as RequestInit['body'],
    });
  }

  terminate(id: string): Promise<ApiResponse> {
    return this.api.request('DELETE', `/api/uploads/${id}`, { headers: { 'tus-resumable': '1.0.0' } });
  }
}

/**
 * A PATCH whose connection is destroyed after `sendBytes` of its (declared longer) body: the
 * socket goes away mid-stream, as when a phone drops off the network.
 */
export function patchCutOff(
  baseUrl: string,
  token: string,
  id: string,
  offset: number,
  body: Uint8Array,
  sendBytes: number,
): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(`${baseUrl}/api/uploads/${id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${token}`,
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(body.length),
      },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => res.resume());
    req.write(body.subarray(0, sendBytes), () => {
      // let the bytes reach the server before the socket goes
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
  });
}

/**
 * A PATCH fed from a stream (for sizes no test should hold), answered with status and body. With
 * `length` null it has no Content-Length (chunked transfer), as a client streaming what it has.
 */
export function patchStream(
  baseUrl: string,
  token: string,
  id: string,
  offset: number,
  length: number | null,
  body: Readable,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}/api/uploads/${id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${token}`,
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        ...(length === null ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    body.pipe(req);
  });
}
