import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { ServiceMetrics } from './service-metrics.js';

/** Prometheus metrics: every module may count into ServiceMetrics; GET /metrics exports them. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [ServiceMetrics],
  exports: [ServiceMetrics],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}
