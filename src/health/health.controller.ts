import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator.js';
import { DatabaseProbe } from './database.probe.js';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly database: DatabaseProbe) {}

  /** 200 when MongoDB answers a ping within a second or two, 503 otherwise. No auth. */
  @Public()
  @Get()
  @HttpCode(200)
  async check(@Res({ passthrough: true }) res: Response) {
    const database = await this.database.ping();
    if (!database.up) {
      res.status(503);
      return {
        status: 'error',
        database: 'down',
        message: 'MongoDB is not answering.',
        uptime_s: Math.round(process.uptime()),
      };
    }
    return {
      status: 'ok',
      database: 'up',
      database_latency_ms: database.latencyMs,
      uptime_s: Math.round(process.uptime()),
    };
  }
}
