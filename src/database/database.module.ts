import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MongooseModule } from '@nestjs/mongoose';
import type { EnvironmentVariables } from '../config/environment.js';
import { DocumentLocks } from './document-locks.js';
import { JobLeases } from './job-leases.js';

/** The MongoDB connection and the small coordination primitives built on it. */
@Global()
@Module({
  imports: [
    MongooseModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) => ({
        uri: config.get('MONGODB_URI', { infer: true }),
        serverSelectionTimeoutMS: 5_000,
        // Fail requests fast while the database is away instead of queueing them in memory.
        bufferCommands: false,
        autoIndex: true,
      }),
    }),
  ],
  providers: [DocumentLocks, JobLeases],
  exports: [DocumentLocks, JobLeases],
})
export class DatabaseModule {}
