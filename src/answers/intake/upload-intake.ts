import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Response } from 'express';
import { Gauge } from 'prom-client';
import { Slots } from '../../common/slots.js';
import { storageSettings, type StorageSettings } from '../../config/settings.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import { ClientClosedRequest } from './audio-upload.receiver.js';

/**
 * Bounds the uploads this instance takes in at once (UPLOAD_INTAKE_CONCURRENCY): the rest wait in
 * arrival order with their bodies unread, so the socket's own backpressure holds them. It keeps a
 * burst of uploads from filling the database pool's queue ahead of the transcription worker. A turn
 * lasts UPLOAD_INTAKE_TURN_MS at most: an upload still running then goes on outside the bound and
 * lets the next one in, so slow uplinks cannot hold every turn.
 */
@Injectable()
export class UploadIntake implements OnModuleInit {
  private readonly slots: Slots;
  private readonly turnMs: number;

  constructor(
    @Inject(storageSettings.KEY) settings: StorageSettings,
    private readonly metrics: ServiceMetrics,
  ) {
    this.slots = new Slots(settings.intakeConcurrency);
    this.turnMs = settings.intakeTurnMs;
  }

  onModuleInit(): void {
    const slots = this.slots;
    new Gauge({
      name: 'interview_uploads_waiting',
      help: 'Uploads waiting for their turn on this instance (UPLOAD_INTAKE_CONCURRENCY).',
      registers: [this.metrics.registry],
      collect() {
        this.set(slots.waiting);
      },
    });
  }

  /** Uploads waiting for their turn now. */
  get waiting(): number {
    return this.slots.waiting;
  }

  /**
   * Waits for the upload's turn; the release is to be called once its work is done. Rejects with
   * ClientClosedRequest when the response closes first (the client gave up).
   */
  async admit(res: Response): Promise<() => void> {
    const left = new AbortController();
    const onClose = () => left.abort(new ClientClosedRequest());
    res.once('close', onClose);
    const release = await this.slots.take(left.signal).finally(() => res.off('close', onClose));
    const turnOver = setTimeout(release, this.turnMs);
    turnOver.unref();
    return () => {
      clearTimeout(turnOver);
      release();
    };
  }
}
