import { BadRequestException, HttpException, Injectable } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { discardBody } from '../../common/refused-body.js';
import { AudioGate, tooLarge } from './audio-gate.js';
import type { AudioFormat } from './audio-format.js';

export const AUDIO_FIELD = 'audio';

/** The request ended before its body did; nobody is left to read a response. */
export class ClientClosedRequest extends HttpException {
  constructor() {
    super('The client closed the connection before the upload finished.', 499);
  }
}

export interface IncomingAudio {
  /** Resolves with the audio stream once its first bytes are recognised as audio. */
  audio: Promise<{ stream: AudioGate; format: AudioFormat }>;
  /** Resolves when the whole multipart body has been read without error. */
  done: Promise<void>;
}

/** Bytes of multipart framing allowed around the file part before a declared length is refused. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Reads a multipart/form-data request that carries exactly one file part named "audio", streaming
 * that part out without ever holding it whole. Everything else in the body is a 400.
 */
@Injectable()
export class AudioUploadReceiver {
  receive(req: Request, maxBytes: number): IncomingAudio {
    let rejectAudio!: (error: Error) => void;
    let resolveAudio!: (value: { stream: AudioGate; format: AudioFormat }) => void;
    let rejectDone!: (error: Error) => void;
    let resolveDone!: () => void;
    const audio = new Promise<{ stream: AudioGate; format: AudioFormat }>((resolve, reject) => {
      resolveAudio = resolve;
      rejectAudio = reject;
    });
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    audio.catch(() => undefined);
    done.catch(() => undefined);

    let gate: AudioGate | undefined;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      rejectAudio(error);
      rejectDone(error);
      gate?.destroy(error);
      // read on (and drop) what the client still sends, so that it sees the refusal (refused-body.ts)
      void discardBody(req);
    };

    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) {
      fail(tooLarge(maxBytes));
      return { audio, done };
    }

    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 8, parts: 9, fieldSize: 8 * 1024, headerPairs: 16 },
      });
    } catch {
      fail(
        new BadRequestException(
          'Send the recording as multipart/form-data (with a boundary) and the file in a field named "audio".',
        ),
      );
      return { audio, done };
    }

    parser.on('file', (name, file, _info) => {
      if (name !== AUDIO_FIELD || gate) {
        file.resume();
        fail(
          new BadRequestException(
            gate
              ? 'Send exactly one "audio" file part per request.'
              : `Unexpected file field "${name.slice(0, 64)}"; send the recording in a field named "audio".`,
          ),
        );
        return;
      }
      gate = new AudioGate(maxBytes);
      const current = gate;
      file.on('error', (error: Error) => fail(malformed(error)));
      file.pipe(current);
      // past the size limit after the format was known, too
      current.once('error', fail);
      current.format.then((format) => resolveAudio({ stream: current, format }), fail);
    });
    parser.on('filesLimit', () => fail(new BadRequestException('Send exactly one "audio" file part per request.')));
    parser.on('partsLimit', () => fail(new BadRequestException('Too many form parts; send only the "audio" file.')));
    parser.on('fieldsLimit', () => fail(new BadRequestException('Too many form fields; send only the "audio" file.')));
    parser.on('error', (error: Error) => fail(malformed(error)));
    parser.on('close', () => {
      if (failed) return;
      if (!gate) {
        fail(new BadRequestException('No "audio" file part found; send the recording in a field named "audio".'));
        return;
      }
      resolveDone();
    });
    req.on('close', () => {
      if (!req.complete) fail(new ClientClosedRequest());
    });
    req.pipe(parser);
    return { audio, done };
  }
}

function malformed(error: Error): BadRequestException {
  return new BadRequestException(`The multipart body is malformed or was cut off (${error.message}).`);
}
