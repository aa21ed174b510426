import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';

const PING_TIMEOUT_MS = 2_000;

@Injectable()
export class DatabaseProbe {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  async ping(): Promise<{ up: boolean; latencyMs?: number }> {
    const db = this.connection.db;
    if (!db || this.connection.readyState !== 1) return { up: false };
    const started = Date.now();
    try {
      await db.command({ ping: 1 }, { timeoutMS: PING_TIMEOUT_MS });
      return { up: true, latencyMs: Date.now() - started };
    } catch {
      return { up: false };
    }
  }
}
