import { useCallback, useEffect, useRef, useState } from 'react';
import type { TakeSink } from './recording-take';

export type RecorderPhase = 'idle' | 'starting' | 'recording' | 'recorded';

/** Opus in WebM is what Chromium and Firefox record; Safari records MP4. Let the browser pick otherwise. */
const PREFERRED_TYPES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'];

/**
 * Speech needs far less than browsers record by default (about 128 kbit/s): opus at 32 kbit/s sounds
 * the same for a voice, and a slow uplink (64 kbit/s) carries it while the answer is recorded.
 */
export const RECORDING_BITS_PER_SECOND = 32_000;
/** MediaRecorder hands over a chunk each second: each is kept on the device and sent as it comes. */
export const TIMESLICE_MS = 1000;

/** Where each chunk goes as it is recorded (the device and the server): one per press of Record. */
export type BeginTake = (mimeType: string, onProblem: (sentence: string) => void) => TakeSink;

function supportedMimeType(): string | undefined {
  if (typeof MediaRecorder === 'undefined' || typeof MediaRecorder.isTypeSupported !== 'function') return undefined;
  return PREFERRED_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
}

export function microphoneErrorSentence(error: unknown): string {
  const name = (error as { name?: string })?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'The browser did not allow the microphone; allow it for this page and press Record again.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No microphone was found; connect one and press Record again.';
  }
  if (name === 'NotReadableError') return 'The microphone is in use by another application; close it and try again.';
  return 'Recording could not start in this browser.';
}

/**
 * One answer's recording: start, stop, record again. The microphone is released after each
 * recording so that the browser's recording light means what it says. With `beginTake`, every
 * chunk is handed to a take as it is recorded (kept on the device, streamed to the server); a new
 * take replaces the last one (Record again discards it).
 */
export function useRecorder(beginTake?: BeginTake) {
  const [phase, setPhase] = useState<RecorderPhase>('idle');
  const [recording, setRecording] = useState<Blob | null>(null);
  const [seconds, setSeconds] = useState(0);
  const [error, setError] = useState<string | null>(null);
  /** Said once: the device cannot keep the recording while it is made (recording goes on). */
  const [notice, setNotice] = useState<string | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const stopped = useRef<Promise<Blob> | null>(null);

  useEffect(() => {
    if (phase !== 'recording') return;
    const startedAt = Date.now();
    const timer = setInterval(() => setSeconds(Math.floor((Date.now() - startedAt) / 1000)), 250);
    return () => clearInterval(timer);
  }, [phase]);

  // leaving the question while recording must not leave the microphone on
  useEffect(() => () => recorder.current?.stream.getTracks().forEach((track) => track.stop()), []);

  const start = useCallback(async () => {
    setError(null);
    setPhase('starting');
    let stream: MediaStream;
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new DOMException('no getUserMedia', 'NotSupportedError');
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (cause) {
      setError(microphoneErrorSentence(cause));
      setPhase(recording ? 'recorded' : 'idle');
      return;
    }
    const mimeType = supportedMimeType();
    const media = new MediaRecorder(stream, {
      ...(mimeType ? { mimeType } : {}),
      audioBitsPerSecond: RECORDING_BITS_PER_SECOND,
    });
    const take = beginTake?.(media.mimeType || mimeType || 'audio/webm', setNotice);
    const chunks: Blob[] = [];
    media.addEventListener('dataavailable', (event) => {
      if (event.data.size === 0) return;
      chunks.push(event.data);
      take?.add(event.data);
    });
    stopped.current = new Promise<Blob>((resolve) => {
      media.addEventListener('stop', () => {
        stream.getTracks().forEach((track) => track.stop());
        const blob = new Blob(chunks, { type: media.mimeType || mimeType || 'audio/webm' });
        setRecording(blob);
        setPhase('recorded');
        resolve(blob);
      });
    });
    recorder.current = media;
    setSeconds(0);
    media.start(TIMESLICE_MS);
    setPhase('recording');
  }, [recording, beginTake]);

  /** Stops and resolves with the finished recording (or the previous one when not recording). */
  const stop = useCallback(async (): Promise<Blob | null> => {
    const media = recorder.current;
    if (media && media.state !== 'inactive') {
      media.stop();
      return stopped.current;
    }
    return recording;
  }, [recording]);

  return { phase, recording, seconds, error, notice, start, stop };
}
