import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { ObjectId } from 'mongodb';
import { VoiceActivityDetector } from '../../src/transcription/speech/voice-activity.js';
import { WavPcmReader } from '../../src/transcription/speech/wav-pcm.js';
import { WebRtcVadEngine } from '../../src/transcription/speech/webrtc-vad.js';
import { ApiClient, tokenFor } from '../../test/support/api.js';
import { wavTone } from '../../test/support/audio.js';
import type { FakeOpenAI } from '../../test/support/fake-openai.js';
import { SpeechCorpus } from '../../test/support/speech-corpus.js';
import { reps, sized, type BenchContext } from '../context.js';
import type { BenchTable } from '../report.js';
import { spread } from '../stats.js';
import type { Target } from '../servers.js';

/** CPU seconds this process's waited-for children have used (Linux /proc; clock ticks of 10 ms). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // after the command: state is field 3, so cutime (16) and cstime (17) are at 13 and 14
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs ffmpeg to completion, its stdout handed to `onData`, and gives the CPU it used. */
async function ffmpegCpu(args: string[], onData: (chunk: Buffer) => void): Promise<number> {
  const before = childCpuSeconds();
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) onData(chunk);
  await new Promise((resolve) => child.once('close', resolve));
  return childCpuSeconds() - before;
}

/** A spoken recording of about `minutes`, over pink noise at 15 dB SNR, as a 16 kHz WAV and as webm/opus. */
function recording(corpus: SpeechCorpus, minutes: number): { wav: string; webm: string; seconds: number } {
  const spoken = corpus.spoken(
    [
      'I would start by asking the team what problem the service has to solve.',
      'Then I measured the queue and found that most requests waited on the database.',
      'We moved the slow reports to a background worker and the pages got fast again.',
    ],
    { voice: 'en-us', wpm: 170 },
    [1.2, 2.0],
    -26,
  );
  const noisy = corpus.mixed(spoken.file, -26, 'pink', 15);
  const one = Number(execFileSync('soxi', ['-D', noisy], { encoding: 'utf8' }).trim());
  const repeats = Math.max(0, Math.ceil((minutes * 60) / one) - 1);
  const wav = noisy.replace(/\.wav$/, `-x${repeats + 1}.wav`);
  execFileSync('sox', [noisy, wav, 'repeat', String(repeats)]);
  const seconds = Number(execFileSync('soxi', ['-D', wav], { encoding: 'utf8' }).trim());
  return { wav, webm: corpus.encoded(wav, 'webm'), seconds };
}

/**
 * The speech measurement's cost per minute of audio: this process's decode (WAV) or ffmpeg's (other
 * containers) feeding the WebRTC VAD, against an ffmpeg decode that does nothing with the PCM and
 * against the pass it replaced (ffmpeg silencedetect); and the resident memory a 3-hour recording
 * adds while it is measured.
 */
export async function speechMeasurement(ctx: BenchContext): Promise<BenchTable[]> {
  const engine = new WebRtcVadEngine();
  await engine.onModuleInit();
  const corpus = new SpeechCorpus();
  const audio = recording(corpus, sized(ctx, 5, 0.5, 0.25));
  const minutes = audio.seconds / 60;
  const repetitions = reps(ctx, 5, 1);

  const detect = (push: (onSamples: (s: Int16Array) => void) => Promise<void>) => async () => {
    const detector = new VoiceActivityDetector(engine.open(3));
    const ownBefore = ownCpuSeconds();
    const childBefore = childCpuSeconds();
    try {
      await push((s) => detector.push(s));
      detector.finish();
    } finally {
      detector.dispose();
    }
    return ownCpuSeconds() - ownBefore + (childCpuSeconds() - childBefore);
  };
  const pcmOf = (onSamples: (s: Int16Array) => void) => {
    let odd: Buffer | undefined;
    return (chunk: Buffer) => {
      const bytes = odd ? Buffer.concat([odd, chunk]) : chunk;
      const even = bytes.length - (bytes.length % 2);
      odd = even < bytes.length ? Buffer.from(bytes.subarray(even)) : undefined;
      onSamples(new Int16Array(Uint8Array.prototype.slice.call(bytes, 0, even).buffer));
    };
  };
  const toPcm = (file: string) => ['-i', file, '-vn', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'];
  const variants: Array<[string, () => Promise<number>]> = [
    [
      'service: WAV decoded in this process + VAD',
      detect(async (onSamples) => {
        const reader = new WavPcmReader(onSamples);
        for await (const chunk of createReadStream(audio.wav) as AsyncIterable<Buffer>) reader.write(chunk);
      }),
    ],
    [
      'service: webm/opus decoded by ffmpeg + VAD',
      detect(async (onSamples) => void (await ffmpegCpu(toPcm(audio.webm), pcmOf(onSamples)))),
    ],
    ['baseline: ffmpeg decode only, WAV (PCM discarded)', () => ffmpegCpu(toPcm(audio.wav), () => undefined)],
    ['baseline: ffmpeg decode only, webm/opus (PCM discarded)', () => ffmpegCpu(toPcm(audio.webm), () => undefined)],
    [
      'before: ffmpeg silencedetect pass, WAV',
      () => ffmpegCpu(['-i', audio.wav, '-af', 'silencedetect=noise=-30dB:d=0.25', '-f', 'null', '-'], () => undefined),
    ],
  ];
  const rows = [];
  const perMinute = new Map<string, number>();
  for (const [name, run] of variants) {
    await run(); // warm-up (the first WebAssembly calls and file cache)
    const cpu: number[] = [];
    for (let i = 0; i < repetitions; i++) cpu.push((await run()) / minutes);
    perMinute.set(name, spread(cpu).median);
    ctx.log(`  ${name}: ${spread(cpu).median.toFixed(3)} s CPU per audio minute`);
    rows.push({ name, cells: [cpu] });
  }
  const worst = Math.max(perMinute.get(variants[0][0])!, perMinute.get(variants[1][0])!);
  const cost: BenchTable = {
    title: 'Speech measurement: CPU per minute of audio',
    method:
      `A ${audio.seconds.toFixed(0)} s espeak-ng answer over pink noise at 15 dB SNR (16 kHz WAV, and as webm/opus 32 kbit/s), ` +
      `read from a file. CPU = this process's (in-process decode, 30 ms frames through the 200 Hz high-pass and the ` +
      `WebRTC VAD) plus ffmpeg's (Linux cutime + cstime, 10 ms ticks), per audio minute; ${repetitions} runs after a warm-up. ` +
      'Baselines: ffmpeg decoding to 16 kHz PCM that nothing reads, and the silencedetect pass the detector replaced.',
    columns: [{ label: 'CPU s per audio minute', digits: 3 }],
    rows,
    target: 'decode + detector ≤ 0.5 s of CPU per minute of audio',
    verdict: worst <= 0.5 ? 'met' : 'missed',
    verdictDetail: `worst of the service's rows ${worst.toFixed(3)} s per minute`,
  };

  // memory: a long recording generated on the fly and measured as it streams, in a process of its
  // own with the service's heap flags (this one's young generation may grow to tens of megabytes)
  const hours = sized(ctx, 3, 0.25, 0.02);
  const script = join(import.meta.dirname, 'speech-memory.js');
  const out = execFileSync(process.execPath, ['--max-semi-space-size=4', '--expose-gc', script, String(hours)], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  const { growthMb, seconds } = JSON.parse(out.trim().split('\n').pop()!) as { growthMb: number; seconds: number };
  ctx.log(`  ${hours} h measured in ${seconds.toFixed(1)} s, RSS +${growthMb.toFixed(1)} MB`);
  const memory: BenchTable = {
    title: `Speech measurement: memory for a ${hours}-hour recording`,
    method:
      `A ${hours}-hour 16 kHz stereo WAV (sung vowels and pauses, test/support/audio.ts speechLikeWav) generated ` +
      'chunk by chunk and streamed through the in-process decode and the detector, in a Node process with the ' +
      "service's heap flags (--max-semi-space-size=4); RSS sampled every chunk and every 50 ms.",
    columns: [{ label: 'peak RSS growth (MB)', digits: 1 }],
    rows: [{ name: 'service: decode + VAD', cells: [[growthMb]] }],
    target: 'RSS growth ≤ 32 MB for a 3-hour recording',
    verdict: ctx.quick || ctx.smoke ? 'not judged' : growthMb <= 32 ? 'met' : 'missed',
    verdictDetail: `+${growthMb.toFixed(1)} MB`,
  };
  return [cost, memory];
}

/**
 * What the speech pass adds to an answer's way from 202 to transcribed_at: the same short WAVs
 * through a worker with the speech guard on, and through one with it off (the baseline).
 */
export async function speechPassLatency(
  ctx: BenchContext,
  db: Db,
  fake: FakeOpenAI,
  startWorker: (env: Record<string, string>) => Promise<Target>,
  stop: (target: Target) => Promise<void>,
): Promise<BenchTable> {
  const count = reps(ctx, 15, 4);
  const rows = [];
  const medians = new Map<string, number>();
  for (const [name, guard] of [
    ['speech guard on (the service)', 'true'],
    ['speech guard off (baseline)', 'false'],
  ] as const) {
    const worker = await startWorker({ TRANSCRIPTION_SPEECH_GUARD: guard });
    try {
      const api = new ApiClient(worker.url, tokenFor('bench-speech'));
      fake.setDefault({ kind: 'ok' });
      const latencies: number[] = [];
      for (let i = 0; i <= count; i++) {
        const sessionId = await api.newSession(['a']);
        const res = await api.upload(sessionId, 'a', wavTone(0.5, 900 + i * 13 + (guard === 'true' ? 0 : 500)), {
          filename: 'a.wav',
          contentType: 'audio/wav',
        });
        if (res.status !== 202) throw new Error(`speech pass upload answered ${res.status}`);
        const accepted = Date.now();
        for (;;) {
          const doc = await db
            .collection<{ answers?: { a?: { transcription_status: string; transcribed_at?: Date } } }>(
              'interview_sessions',
            )
            .findOne({ _id: new ObjectId(sessionId) }, { projection: { 'answers.a': 1 } });
          const a = doc?.answers?.a;
          if (a?.transcription_status === 'completed' && a.transcribed_at) {
            if (i > 0) latencies.push(a.transcribed_at.getTime() - accepted); // the first is a warm-up
            break;
          }
          if (a?.transcription_status === 'failed') throw new Error('speech pass: a transcription failed');
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      medians.set(name, spread(latencies).median);
      ctx.log(`  ${name}: p50 ${spread(latencies).median} ms`);
      rows.push({ name, cells: [latencies] });
    } finally {
      await stop(worker);
    }
  }
  const added = medians.get('speech guard on (the service)')! - medians.get('speech guard off (baseline)')!;
  return {
    title: 'Speech measurement: what the speech pass adds from 202 to transcribed_at',
    method:
      `${count} half-second 16 kHz WAV answers, one at a time (a warm-up first), through a worker with ` +
      'TRANSCRIPTION_SPEECH_GUARD on and then one with it off; the fake provider answers at once. Each cell is the ' +
      'spread of transcribed_at − the 202 at the client.',
    columns: [{ label: '202 → transcribed_at (ms)', digits: 0 }],
    rows,
    target: 'the speech pass adds ≤ 10 ms at 1 in flight',
    verdict: added <= 10 ? 'met' : 'missed',
    verdictDetail: `${added >= 0 ? '+' : ''}${added.toFixed(0)} ms (median against median)`,
  };
}
