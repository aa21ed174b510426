import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { refusalsAsProblems, tusRefusalDetail } from '../../src/answers/resumable/tus-errors.js';

/** @tus/server's own refusals are plain text; the service answers them as problem JSON with a sentence. */
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server that answers the way srvx sends @tus/server's responses: writeHead with raw headers, write, end. */
async function answering(status: number, body: string, headers: string[] = []): Promise<Response> {
  server = createServer((_req, res) => {
    refusalsAsProblems(res);
    res.writeHead(status, 'Whatever', [
      'Tus-Resumable',
      '1.0.0',
      'Content-Type',
      'text/plain',
      'Content-Length',
      String(Buffer.byteLength(body)),
      ...headers,
    ]);
    if (body) res.write(body);
    res.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

describe('tus refusals', () => {
  it('turns the missing-version text into a 412 problem that says what to send', async () => {
    const res = await answering(412, 'Tus-Resumable Required\n');
    expect(res.status).toBe(412);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    expect(await res.json()).toMatchObject({
      status: 412,
      title: 'Precondition Failed',
      detail: 'Send Tus-Resumable: 1.0.0 with every tus request; this server speaks tus 1.0.0.',
    });
  });

  it('names each invalid header with what it must hold', async () => {
    const res = await answering(400, 'Invalid upload-length content-type\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      "Upload-Length must be the recording's size, a whole number of bytes; " +
        'Content-Type must be application/offset+octet-stream.',
    );
    expect(tusRefusalDetail(400, 'Invalid x-custom\n')).toBe('x-custom is not a valid tus 1.0 header value.');
  });

  it('leaves problems of our own and successes as they were', async () => {
    const own = JSON.stringify({
      type: 'about:blank',
      title: 'Locked',
      status: 423,
      detail: 'Another request is writing this upload.',
    });
    expect(await (await answering(423, own)).json()).toMatchObject({
      detail: 'Another request is writing this upload.',
    });
    const ok = await answering(204, '');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('content-type')).toBe('text/plain');
  });

  it("says what to send for @tus/server's other texts, and answers an extension we do not offer as 400", async () => {
    const missing = await answering(403, 'Upload-Offset header required\n');
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { detail: string }).detail).toBe(
      'Send Upload-Offset with every PATCH: the offset a HEAD request answers with.',
    );
    const concat = await answering(
      501,
      'Concatenation extension is not (yet) supported. Disable parallel uploads in the tus client.\n',
    );
    expect(concat.status).toBe(400);
    expect(await concat.json()).toMatchObject({
      status: 400,
      detail: 'Concatenated (parallel) uploads are not supported; send one upload per recording.',
    });
  });
});
