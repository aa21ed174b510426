import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/**
 * The OpenAPI document, generated from the controllers and DTOs (the @nestjs/swagger compiler
 * plugin reads their types, validators and doc comments at build time): /docs-json, and the
 * Swagger UI at /docs.
 */
export function serveOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Voice interview API')
    .setDescription(
      'Sessions, answer uploads (multipart, streamed into GridFS), background transcription status, ' +
        'live events (SSE), analysis and erasure. Every route but /health and /metrics needs a bearer JWT.',
    )
    .setVersion(process.env.npm_package_version ?? '0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Voice interview API',
  });
}
