import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { NestFactory } from '@nestjs/core';
import { AudioCleanup } from './cleanup/audio-cleanup.js';
import { CleanupOnceModule } from './cleanup/cleanup.module.js';
import { ConfigurationError, validateEnvironment } from './config/settings.js';
import { SettingsModule } from './config/settings.module.js';
import { DatabaseModule } from './database/database.module.js';

@Module({
  imports: [SettingsModule, DatabaseModule, EventEmitterModule.forRoot(), CleanupOnceModule],
})
class CleanupCommandModule {}

/**
 * `npm run cleanup [-- --json]`: runs the audio cleanup once against MONGODB_URI and prints what it
 * deleted. Exits 0 also when another instance held the lease (nothing to do then).
 */
async function main(): Promise<void> {
  try {
    const env = validateEnvironment(process.env);
    if (!env.MONGODB_URI)
      throw new ConfigurationError('Invalid configuration: set MONGODB_URI to the database to clean up.');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const app = await NestFactory.createApplicationContext(CleanupCommandModule, { logger: ['error', 'warn'] });
  try {
    const report = await app.get(AudioCleanup).run();
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else if (report.skipped) {
      process.stdout.write('Another instance is running the cleanup right now; nothing was done.\n');
    } else {
      process.stdout.write(
        `Deleted ${report.files_deleted} files, ${report.chunks_deleted} chunks, ${report.bytes_deleted} bytes ` +
          `(orphan files: ${report.orphan_files}, orphan chunk groups: ${report.orphan_chunk_groups}, ` +
          `expired failed answers: ${report.expired_failed_answers}; kept in use: ${report.kept_in_use}); ` +
          `sessions erased: ${report.sessions_erased}, erasures resumed: ${report.erasures_resumed}, expired resumable uploads: ${report.expired_uploads}, ` +
          `webhook deliveries of gone sessions: ${report.orphan_webhook_deliveries}, ` +
          `transcripts ahead of gone uploads: ${report.orphan_transcripts_ahead}.\n`,
      );
    }
  } finally {
    await app.close();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`Cleanup failed: ${error.message.split('\n')[0]}\n`);
  process.exit(1);
});
