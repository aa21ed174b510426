import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import { QueueStatsReader } from './queue-stats.js';

/** Queue depth and age, read from the database when Prometheus scrapes. */
@Injectable()
export class QueueGauges implements OnModuleInit {
  private readonly logger = new Logger(QueueGauges.name);

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly reader: QueueStatsReader,
  ) {}

  onModuleInit(): void {
    const read = () =>
      this.reader.read().catch((error: Error) => {
        this.logger.warn(`could not read the queue for /metrics: ${error.message}`);
        return null;
      });
    new Gauge({
      name: 'interview_queue_answers',
      help: 'Answers not yet transcribed, by status: queued (due now), retrying (waiting for a later attempt), processing.',
      labelNames: ['status'] as const,
      registers: [this.metrics.registry],
      async collect() {
        const stats = await read();
        if (!stats) return;
        for (const status of ['queued', 'retrying', 'processing'] as const) this.set({ status }, stats[status]);
      },
    });
    new Gauge({
      name: 'interview_queue_oldest_queued_seconds',
      help: 'Age of the oldest answer not yet transcribed (0 when none waits).',
      registers: [this.metrics.registry],
      async collect() {
        const stats = await read();
        if (stats) this.set(stats.oldest_queued_age_s);
      },
    });
  }
}
