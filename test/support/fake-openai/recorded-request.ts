import busboy from 'busboy';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

/** One transcription request as the fake received it, and what it answered. */
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

export function sha256Of(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reads a multipart transcription request into its record: the form fields, and the file's size
 * and SHA-256 as it streams by (with `probeAudio`, a copy on disk for ffprobe, deleted after).
 */
export async function readTranscriptionRequest(
  req: IncomingMessage,
  probeAudio: boolean,
): Promise<TranscriptionRequest> {
  const copy = probeAudio ? join(tmpdir(), `fake-openai-${randomBytes(6).toString('hex')}`) : undefined;
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

function probeDuration(file: string): Promise<number | undefined> {
  return new Promise((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], (error, out) => {
      const seconds = Number(String(out).trim());
      resolve(error || !Number.isFinite(seconds) ? undefined : seconds);
    }),
  );
}
