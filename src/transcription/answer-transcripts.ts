import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Answer } from '../interview-record/answer.schema.js';
import { transcriptionSettings, type TranscriptionSettings } from '../config/settings.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import type { TranscriptFields } from './queue/transcription-queue.js';
import { looksHallucinated } from './speech/speech-measure.js';
import { SpeechMeter } from './speech/speech-meter.js';
import { answerBudgetBytes, boundTranscript } from './transcript-bounds.js';
import { AheadHandover } from './ahead/ahead-handover.js';
import { LargeRecordingTranscriber } from './transcribers/large-recording.transcriber.js';
import type { RecordingTranscriber } from './transcribers/recording-transcriber.js';
import type { TranscriptionTask } from './recording/transcription-task.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcribers/transcription-provider.js';
import type { TakeSlot } from './job-scheduler.js';
import { WholeRecordingTranscriber } from './transcribers/whole-recording.transcriber.js';

/**
 * What one claimed answer's recording becomes on the answer: the speech guard's reading, the
 * transcript of the transcriber that suits its size (sent whole, or compressed and split), and the
 * flags a reader needs to trust it, cut to the answer's share of the session document.
 */
@Injectable()
export class AnswerTranscripts {
  /** Lines about transcription work share the one context operators filter by. */
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly whole: WholeRecordingTranscriber,
    private readonly large: LargeRecordingTranscriber,
    private readonly handover: AheadHandover,
    private readonly speech: SpeechMeter,
    private readonly provider: TranscriptionProvider,
    private readonly metrics: ServiceMetrics,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  /**
   * The answer's transcript: none, without a provider call, when the recording holds no speech;
   * otherwise the provider's, flagged when it is a known silence hallucination of little speech.
   */
  async of(task: TranscriptionTask, signal: AbortSignal, slot: TakeSlot): Promise<TranscriptFields> {
    // pieces transcribed while a resumable upload grew stand: the large path sends only the rest
    const ahead = await this.handover.of(task);
    const transcriber = ahead ? this.large : this.transcriberFor(task.answer);
    // a large recording is measured on the pass that compresses it
    let reading = transcriber === this.large ? null : await this.speech.read(task, signal);
    // the transcriber's work holds a slot; the reads before it and the writes after it do not
    const release = reading?.noSpeech ? null : await slot(signal);
    let result: TranscriptionResult | null = null;
    try {
      if (release)
        result = ahead ? await this.large.transcribe(task, signal, ahead) : await transcriber.transcribe(task, signal);
    } finally {
      release?.();
    }
    reading = result?.reading ?? reading;
    await this.handover.forget(task);
    if (!result || reading?.noSpeech) {
      this.metrics.speechGuard.inc({ outcome: 'no_speech' });
      const { speech } = reading!;
      return {
        transcript: '',
        language: null,
        duration_seconds: speech.duration_seconds,
        segments: null,
        speech,
        no_speech: true,
        suspect_hallucination: false,
      };
    }
    const suspect = reading != null && looksHallucinated(result.text, reading.speech);
    this.metrics.speechGuard.inc({ outcome: reading == null ? 'unmeasured' : suspect ? 'suspect' : 'speech' });
    return {
      transcript: result.text,
      language: result.language,
      duration_seconds: result.duration_seconds,
      segments: result.segments,
      speech: reading?.speech ?? null,
      no_speech: false,
      suspect_hallucination: suspect,
      // the provider sends the filler-word example to every model that takes a prompt
      disfluencies_kept: this.provider.capabilities.prompt,
      ...(result.withoutHints ? { transcribed_without_hints: true } : {}),
    };
  }

  /** The result within the answer's share of the session document (transcript-bounds.ts), a cut logged without the text. */
  bounded(task: TranscriptionTask, fields: TranscriptFields): TranscriptFields {
    const budget = answerBudgetBytes(this.settings.transcriptBounds, task.session.questions.length);
    const bounded = boundTranscript(fields, budget);
    if (bounded.transcript_truncated || bounded.segments_truncated || bounded.pauses_truncated) {
      this.logger.warn(
        `${String(task.sessionId)}/${task.questionId}: the provider's result is over the answer's ${budget} bytes; stored cut ` +
          `(transcript ${Buffer.byteLength(fields.transcript)} bytes, ${fields.segments?.length ?? 0} segments, ${fields.speech?.pauses.length ?? 0} pauses)`,
      );
    }
    return bounded;
  }

  private transcriberFor(answer: Answer): RecordingTranscriber {
    return answer.audio.size_bytes > this.settings.maxFileBytes ? this.large : this.whole;
  }
}
