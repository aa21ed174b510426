import { expect } from 'vitest';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';

/**
 * A tus server in memory speaking creation-defer-length as the real one does (Upload-Length once,
 * the 202 when the last byte is in), that can drop the connection of the next PATCHes.
 */
export class TusServerInMemory implements HttpStack {
  stored: number[] = [];
  length: number | null = null;
  requests: { method: string; offset?: number; length?: string; body: number[] }[] = [];
  /** The next this many PATCHes fail as a lost connection would, before the server gets a byte. */
  dropPatches = 0;
  terminated = false;

  getName() {
    return 'memory';
  }

  createRequest(method: string, url: string): HttpRequest {
    const headers = new Map<string, string>();
    const response = (status: number, h: Record<string, string> = {}, body = ''): HttpResponse => ({
      getStatus: () => status,
      getHeader: (name) => h[name.toLowerCase()] ?? h[name],
      getBody: () => body,
      getUnderlyingObject: () => null,
    });
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (name, value) => void headers.set(name.toLowerCase(), value),
      getHeader: (name) => headers.get(name.toLowerCase()),
      setProgressHandler: () => undefined,
      abort: () => Promise.resolve(),
      getUnderlyingObject: () => null,
      send: async (body?: Blob | null) => {
        const sent = body ? [...new Uint8Array(await body.arrayBuffer())] : [];
        this.requests.push({
          method,
          offset: headers.has('upload-offset') ? Number(headers.get('upload-offset')) : undefined,
          length: headers.get('upload-length'),
          body: sent,
        });
        if (method === 'POST') {
          expect(headers.get('upload-defer-length')).toBe('1');
          return response(201, { location: '/api/uploads/u1' });
        }
        if (method === 'DELETE') {
          this.terminated = true;
          return response(204);
        }
        if (method === 'HEAD') {
          return response(200, {
            'upload-offset': String(this.stored.length),
            ...(this.length === null ? { 'upload-defer-length': '1' } : { 'upload-length': String(this.length) }),
          });
        }
        if (this.dropPatches > 0) {
          this.dropPatches--;
          throw new Error('connection lost');
        }
        if (Number(headers.get('upload-offset')) !== this.stored.length) return response(409);
        if (headers.has('upload-length')) this.length = Number(headers.get('upload-length'));
        this.stored.push(...sent);
        const offset = { 'upload-offset': String(this.stored.length) };
        if (this.stored.length === this.length) {
          const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(this.stored));
          const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
          return response(202, offset, JSON.stringify({ sha256 }));
        }
        return response(204, offset);
      },
    };
  }
}
