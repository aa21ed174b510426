/**
 * Baseline 2, the tutorial path most NestJS services take (FileInterceptor is multer underneath):
 * Express with multer's memory storage, so the whole file is a Buffer before anything else
 * happens, then one GridFS write of that Buffer. Reads are a findOne by _id.
 */
import express from 'express';
import { GridFSBucket, MongoClient, ObjectId } from 'mongodb';
import multer from 'multer';
import type { AddressInfo } from 'node:net';

const client = await MongoClient.connect(process.env.MONGODB_URI!);
const db = client.db();
const chunkSizeBytes = Number(process.env.GRIDFS_CHUNK_SIZE_BYTES ?? 255 * 1024);
const bucket = new GridFSBucket(db, { bucketName: 'fs', chunkSizeBytes });
const sessions = db.collection('interview_sessions');
const memoryUpload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 2 * 1024 ** 3 } });

const app = express();
app.post('/upload/:sessionId/:questionId', memoryUpload.single('audio'), (req, res, next) => {
  if (!req.file) return void res.status(400).json({ error: 'no audio' });
  const upload = bucket.openUploadStream(req.file.originalname, {
    metadata: { session_id: req.params.sessionId, question_id: req.params.questionId },
  });
  upload.once('finish', () => res.status(202).json({ file_id: String(upload.id) }));
  upload.once('error', next);
  upload.end(req.file.buffer);
});
app.get('/status/:id', async (req, res) => {
  const session = await sessions.findOne({ _id: new ObjectId(req.params.id) });
  res.status(session ? 200 : 404).json(session ?? {});
});
const server = app.listen(0, '127.0.0.1', () =>
  console.log(`listening on port ${(server.address() as AddressInfo).port}`),
);
server.keepAliveTimeout = 120_000;
