import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { HealthController } from './health.controller.js';
import { ModelWatch } from './model-watch.js';
import { ProviderProbe } from './provider.probe.js';
import { ReadinessChecks } from './readiness-checks.js';

/**
 * /health and /health/ready. Global so that any module can add a readiness indicator through
 * ReadinessChecks without importing this one.
 */
@Global()
@Module({
  // a failed probe is the orchestrator's business: it is not logged as an error on every probe
  imports: [TerminusModule.forRoot({ logger: false }), AudioStorageModule],
  controllers: [HealthController],
  providers: [ProviderProbe, ReadinessChecks, ModelWatch],
  exports: [ReadinessChecks],
})
export class HealthModule {}
