import { Module } from '@nestjs/common';
import { QueueController } from './queue.controller.js';
import { QueueModule } from './queue.module.js';

/** GET /api/queue/stats, on instances that serve the API. */
@Module({ imports: [QueueModule], controllers: [QueueController] })
export class QueueApiModule {}
