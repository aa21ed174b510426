import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { UPLOADS_PATH } from './answers/resumable/resumable-uploads.service.js';
import { corsOptions } from './common/cors-options.js';
import { corsOriginList } from './config/setting-rules.js';
import { verifyJsonComplexity } from './common/json-body-bounds.js';
import { requestDeadline } from './common/request-deadline.js';
import { loadOrCreateDevJwtSecret, DEV_SECRET_FILE } from './config/dev-jwt-secret.js';
import { ConfigurationError, tracingSettings, validateEnvironment } from './config/settings.js';
import { embeddedFailureReason, startEmbeddedMongo } from './database/embedded-mongo.js';
import { assignRequestId } from './logging/request-id.js';
import { rootLogger } from './logging/root-logger.js';
import { serveOpenApi } from './openapi.js';
import { traceRequests } from './tracing/http-tracing.js';
import { startTracing } from './tracing/tracing.js';

/** Session bodies are text; 2 MB holds 200 questions with long model answers. */
const JSON_BODY_LIMIT = '2mb';

function stop(line: string): never {
  // One line on stderr, nothing else: the operator should see exactly what to fix.
  process.stderr.write(line + '\n');
  process.exit(1);
}

async function bootstrap(): Promise<void> {
  let env;
  try {
    env = validateEnvironment(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) stop(error.message);
    throw error;
  }

  const tracing = await startTracing(tracingSettings());
  const logger = rootLogger().child({ context: 'Bootstrap' });
  if (!env.MONGODB_URI) {
    logger.info('MONGODB_URI is not set: starting an embedded MongoDB with its data in .data/mongodb');
    let embedded;
    try {
      embedded = await startEmbeddedMongo();
    } catch (error) {
      stop(
        `MONGODB_URI is not set and the embedded MongoDB could not be downloaded or started (${embeddedFailureReason(error)}); ` +
          'set MONGODB_URI to a MongoDB server, e.g. MONGODB_URI=mongodb://127.0.0.1:27017/voice_interviews',
      );
    }
    process.env.MONGODB_URI = embedded.uri;
    logger.info(`embedded MongoDB is running at ${embedded.uri}`);
    process.once('exit', () => void embedded.stop());
  }
  // with an identity provider's JWKS and no JWT_SECRET, only that provider's tokens are accepted
  if (!env.JWT_SECRET && !env.JWT_JWKS_URI) {
    process.env.JWT_SECRET = await loadOrCreateDevJwtSecret();
    logger.warn(`JWT_SECRET is not set: using a development secret kept in ${DEV_SECRET_FILE} (never in production)`);
  }

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRole(env.ROLE), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.use(assignRequestId);
  if (tracing) app.use(traceRequests());
  app.use(
    helmet({
      contentSecurityPolicy: {
        // helmet's defaults, plus blob: media so that the web app can play back a recording
        directives: { 'media-src': ["'self'", 'blob:'] },
      },
    }),
  );
  app.use(requestDeadline(env.HTTP_REQUEST_TIMEOUT_MS));
  // depth and entries are bounded on the raw bytes, before anything parses or walks the body
  // (Nest's type omits `verify`, which it uses only for rawBody; express.json takes it as given)
  const jsonOptions = { limit: JSON_BODY_LIMIT, verify: verifyJsonComplexity };
  app.useBodyParser('json', jsonOptions);
  if (env.CORS_ORIGINS) app.enableCors(corsOptions(corsOriginList(env.CORS_ORIGINS), UPLOADS_PATH));
  if (env.ROLE !== 'worker') serveOpenApi(app);
  const server = app.getHttpServer();
  // Long recordings over slow links take a while (HTTP_REQUEST_TIMEOUT_MS for the whole request);
  // a connection that sends nothing for HTTP_IDLE_TIMEOUT_MS is closed, as are slow headers.
  server.requestTimeout = env.HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(60 * 1000, env.HTTP_REQUEST_TIMEOUT_MS);
  server.timeout = env.HTTP_IDLE_TIMEOUT_MS;
  // longer than the idle timeout of common load balancers (60 s), so that they close first
  server.keepAliveTimeout = 65 * 1000;
  await app.listen(env.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  logger.info(`listening on http://localhost:${port} (ROLE=${env.ROLE}${tracing ? ', tracing to OTLP' : ''})`);
}

bootstrap().catch((error: Error) => stop(`Start-up failed: ${error.message.split('\n')[0]}`));
