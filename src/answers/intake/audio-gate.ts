import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { Transform, TransformCallback } from 'node:stream';
import { Sha256Meter } from '../../common/sha256-meter.js';
import { ACCEPTED_AUDIO_DESCRIPTION, AudioFormat, TAGS_TOO_LARGE, detectAudioFormat } from './audio-format.js';
import { AudioHead } from './audio-head.js';

/**
 * Bytes the gate may hold ready for GridFS. The driver writes one chunk at a time and takes no more
 * input until the database has acknowledged it; without this read-ahead, parsing and hashing the
 * next chunk waited for that round trip instead of overlapping it (about one default chunk).
 */
const READ_AHEAD_BYTES = 256 * 1024;

/**
 * Passes an upload through unchanged while (1) holding back only its first bytes until they are
 * recognised as an accepted audio container and (2) failing the stream with 413 the moment it
 * grows past the size limit. Memory use is bounded by the sniffed head (AUDIO_SNIFF_BYTES, at most
 * MAX_TAGGED_HEAD_BYTES behind an mp3's tags), whatever the file size.
 */
export class AudioGate extends Transform {
  readonly format: Promise<AudioFormat>;
  private resolveFormat!: (format: AudioFormat) => void;
  private rejectFormat!: (error: Error) => void;
  private readonly head = new AudioHead();
  private sniffed = false;
  private readonly meter = new Sha256Meter();

  constructor(private readonly maxBytes: number) {
    super({ readableHighWaterMark: READ_AHEAD_BYTES });
    this.format = new Promise<AudioFormat>((resolve, reject) => {
      this.resolveFormat = resolve;
      this.rejectFormat = reject;
    });
    this.format.catch(() => undefined);
    this.once('error', (error) => this.rejectFormat(error));
  }

  get bytesSeen(): number {
    return this.meter.bytes;
  }

  /** SHA-256 of every byte that passed (call once the stream has ended). */
  sha256(): string {
    return this.meter.digest();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.meter.update(chunk);
    if (this.meter.bytes > this.maxBytes) {
      callback(tooLarge(this.maxBytes));
      return;
    }
    if (this.sniffed) {
      callback(null, chunk);
      return;
    }
    this.head.add(chunk);
    const state = this.head.state(false);
    if (state === 'tags-too-large') {
      callback(new BadRequestException(TAGS_TOO_LARGE));
      return;
    }
    if (state === 'more') {
      callback();
      return;
    }
    this.sniff(callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.sniffed) {
      callback();
      return;
    }
    if (this.meter.bytes === 0) {
      callback(new BadRequestException('The "audio" file is empty; record an answer and upload it again.'));
      return;
    }
    this.sniff(callback);
  }

  private sniff(callback: TransformCallback): void {
    const head = this.head.take();
    detectAudioFormat(head).then(
      (format) => {
        if (!format) {
          callback(
            new BadRequestException(
              `The uploaded file is not a supported audio recording; send ${ACCEPTED_AUDIO_DESCRIPTION}.`,
            ),
          );
          return;
        }
        this.sniffed = true;
        this.resolveFormat(format);
        callback(null, head);
      },
      (error: Error) => callback(error),
    );
  }
}

export function tooLarge(maxBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(
    `The recording is larger than the ${maxBytes}-byte limit (MAX_UPLOAD_BYTES); upload a shorter answer.`,
  );
}
