import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { requestIdOf } from './request-id.js';
import { rootLogger } from './root-logger.js';

const QUIET_PATHS = new Set(['/health', '/health/ready', '/metrics']);

interface SerializedRequest {
  id: string;
  method: string;
  url: string;
}

/**
 * Structured JSON logs through nestjs-pino. Every line logged while a request is handled carries
 * its `req_id`; background work started by a request carries the same id (see TranscriptionWorker).
 * Request lines hold method, path and status only: no headers (tokens), no query strings.
 */
@Module({
  imports: [
    // a factory, so that the logger is made after the environment was validated, not at import
    LoggerModule.forRootAsync({
      useFactory: () => ({
        pinoHttp: {
          logger: rootLogger(),
          genReqId: requestIdOf,
          quietReqLogger: true,
          customAttributeKeys: { reqId: 'req_id' },
          autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
          customLogLevel: (_req, res, error) =>
            error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          serializers: {
            req: (req: SerializedRequest) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
            res: (res: { statusCode: number }) => ({ status: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
