/**
 * Run by the speech group in a process of its own, with the service's heap flags (`npm run
 * start:prod`: --max-semi-space-size=4), so that its RSS is what a worker's would be: streams a
 * recording of `hours` (argv[2]) through the in-process WAV decode and the voice-activity detector
 * and prints `{ growthMb, seconds }`. The recording is one generated minute, made before the
 * measurement starts and played over and over in 64 KB slices (no allocation per slice): what grows
 * is the decode's and the detector's, not the generator's.
 */
import { VoiceActivityDetector } from '../../src/transcription/speech/voice-activity.js';
import { WavPcmReader } from '../../src/transcription/speech/wav-pcm.js';
import { WebRtcVadEngine } from '../../src/transcription/speech/webrtc-vad.js';
import { speechLikeWav } from '../../test/support/audio.js';

const hours = Number(process.argv[2]);
const parts: Buffer[] = [];
for await (const chunk of speechLikeWav(60, 16_000) as AsyncIterable<Buffer>) parts.push(chunk);
const minute = Buffer.concat(parts);
// whole stereo frames of 16 kHz: the data size of `hours`
const dataBytes = Math.round(hours * 3600 * 16_000) * 4;
const engine = new WebRtcVadEngine();
await engine.onModuleInit();
const detector = new VoiceActivityDetector(engine.open(3));
global.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const started = Date.now();
const reader = new WavPcmReader((s) => detector.push(s));
const header = Buffer.from(minute.subarray(0, 44));
header.writeUInt32LE(dataBytes, 40);
header.writeUInt32LE(dataBytes + 36, 4);
reader.write(header);
const body = minute.subarray(44);
const SLICE = 64 * 1024;
for (let sent = 0; sent < dataBytes;) {
  const at = sent % body.length;
  const slice = body.subarray(at, Math.min(body.length, at + SLICE, at + dataBytes - sent));
  reader.write(slice);
  sent += slice.length;
  if ((sent / SLICE) % 16 === 0) {
    peak = Math.max(peak, process.memoryUsage().rss);
    await new Promise(setImmediate); // let the sampler and the collector run, as a stream would
  }
}
const heard = detector.finish();
peak = Math.max(peak, process.memoryUsage().rss);
clearInterval(sampler);
detector.dispose();
console.log(
  JSON.stringify({
    growthMb: (peak - before) / 1024 / 1024,
    seconds: (Date.now() - started) / 1000,
    speechSeconds: heard.measure.speech_seconds,
  }),
);
