import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { databaseSettings, type DatabaseSettings } from '../config/settings.js';
import { Clock } from './clock.js';
import { DocumentLocks } from './document-locks.js';
import { JobLeases } from './job-leases.js';
import { UserLeases } from './user-leases.js';

/** A `maxPoolSize` in the URI is the operator's choice, and the driver would let ours override it. */
const URI_SETS_POOL_SIZE = /[?&]maxPoolSize=/i;

/** The MongoDB connection, the clock, and the small coordination primitives built on them. */
@Global()
@Module({
  imports: [
    MongooseModule.forRootAsync({
      inject: [databaseSettings.KEY],
      useFactory: (settings: DatabaseSettings) => ({
        uri: settings.uri,
        serverSelectionTimeoutMS: 5_000,
        // at most this many commands in flight: FerretDB on PostgreSQL deadlocks beyond half its
        // own pool (MONGODB_MAX_POOL_SIZE in environment.ts); requests over it wait in the driver
        ...(URI_SETS_POOL_SIZE.test(settings.uri ?? '') ? {} : { maxPoolSize: settings.maxPoolSize }),
        // Fail requests fast while the database is away instead of queueing them in memory.
        bufferCommands: false,
        autoIndex: true,
      }),
    }),
  ],
  providers: [Clock, DocumentLocks, JobLeases, UserLeases],
  exports: [Clock, DocumentLocks, JobLeases, UserLeases],
})
export class DatabaseModule {}
