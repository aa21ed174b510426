import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../app.module.js';
import { createOpenApiDocument } from '../openapi.js';

/**
 * The OpenAPI document that /docs-json serves, made without a database or a listening server:
 * Nest's preview mode resolves the modules of an API instance and reads the controllers' metadata
 * but instantiates no provider, so nothing connects anywhere. Import it from the built app (dist/):
 * the DTOs' properties are added by the @nestjs/swagger compiler plugin at build time.
 * scripts/api-types.mjs turns it into the web app's API types.
 */
export async function openApiDocumentWithoutServer(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(AppModule.forRole('api'), { preview: true, logger: false });
  try {
    return createOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
