import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { checkResponse } from './openapi-check.js';

export interface RawResponse {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/** One multipart/form-data part; `data` may be bytes or a stream. */
export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array | string | Readable;
}

export function partHeader(boundary: string, part: Part): string {
  const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
  return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`;
}

/**
 * Sends a hand-built request over node:http so that tests control every byte: streamed bodies with
 * no Content-Length, truncated bodies, a client that disconnects mid-upload. The answer is held to
 * the OpenAPI document.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    /** Writes the body; the request is ended afterwards unless it returns 'abort'. */
    write: (req: import('node:http').ClientRequest) => Promise<void | 'abort'>;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // a fresh connection each time: a pooled one may be closed by the server's keep-alive timeout
    // at the very moment it is reused, which would look like a reset caused by the request
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers, agent: false });
    // once the answer has begun, the request's own fate no longer matters: a client still writing a
    // body the server refused sees the connection go (EPIPE) while the answer arrives; the answer's
    // own end, or its being cut off, decides
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let ended = false;
      res.on('close', () => {
        if (!ended) reject(new Error(`the answer (${res.statusCode}) was cut off`));
      });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        ended = true;
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep text
        }
        const received = { status: res.statusCode ?? 0, body, headers: res.headers };
        checkResponse(options.method ?? 'POST', url, { ...received, text }).then(() => resolve(received), reject);
      });
    });
    let aborted = false;
    req.on('error', (error) => {
      if (!aborted && !answered) reject(error);
    });
    options
      .write(req)
      .then((outcome) => {
        if (outcome === 'abort') {
          aborted = true;
          req.destroy();
          resolve({ status: 0, body: undefined, headers: {} });
        } else {
          req.end();
        }
      })
      .catch(reject);
  });
}

export async function writeAll(req: import('node:http').ClientRequest, data: Uint8Array | string | Readable) {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    if (!req.write(data)) await new Promise((r) => req.once('drain', r));
    return;
  }
  for await (const chunk of data) {
    if (req.destroyed) return;
    if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
  }
}

/** Streams a multipart body made of `parts`, with chunked transfer (no Content-Length). */
export function multipartRequest(
  url: string,
  token: string,
  parts: Part[],
  boundary = 'test-boundary-7MA4YWxkTrZu0gW',
) {
  return rawRequest(url, {
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    write: async (req) => {
      for (const part of parts) {
        await writeAll(req, partHeader(boundary, part));
        await writeAll(req, part.data);
        await writeAll(req, '\r\n');
      }
      await writeAll(req, `--${boundary}--\r\n`);
    },
  });
}
