/**
 * Baseline 1, the ceiling: a bare node:http server on the bare driver. An upload pipes the request
 * body straight into GridFSBucket.openUploadStream (no auth, no parsing, no checks); a status read
 * is one findOne by _id. Whatever the service adds on top is what the benchmarks measure.
 */
import { GridFSBucket, MongoClient, ObjectId } from 'mongodb';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const client = await MongoClient.connect(process.env.MONGODB_URI!);
const db = client.db();
const chunkSizeBytes = Number(process.env.GRIDFS_CHUNK_SIZE_BYTES ?? 255 * 1024);
const bucket = new GridFSBucket(db, { bucketName: 'fs', chunkSizeBytes });
const sessions = db.collection('interview_sessions');
let uploads = 0;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const [, route, id] = (req.url ?? '').split('/');
  if (req.method === 'POST' && route === 'upload') {
    const upload = bucket.openUploadStream(`raw-${++uploads}`);
    upload.once('finish', () => json(res, 202, { file_id: String(upload.id) }));
    upload.once('error', (error) => json(res, 500, { error: error.message }));
    req.pipe(upload);
    return;
  }
  if ((req.method === 'GET' && route === 'status') || (req.method === 'POST' && route === 'analyze')) {
    sessions.findOne({ _id: new ObjectId(id) }).then(
      (session) => {
        if (!session) return json(res, 404, {});
        if (route === 'status') return json(res, 200, session);
        const answers = Object.values((session.answers ?? {}) as Record<string, { transcription_status: string }>);
        const pending = answers.filter((a) => a.transcription_status === 'queued').length;
        json(res, 202, { status: 'transcription_pending', pending_count: pending });
      },
      (error: Error) => json(res, 500, { error: error.message }),
    );
    return;
  }
  json(res, 404, {});
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => console.log(`listening on port ${(server.address() as AddressInfo).port}`));
