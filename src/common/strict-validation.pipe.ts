import { ArgumentMetadata, BadRequestException, Injectable, ValidationPipe } from '@nestjs/common';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function findForbiddenKey(value: unknown, depth = 0): string | undefined {
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return key;
    const found = findForbiddenKey((value as Record<string, unknown>)[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The global validation: whitelisted DTO properties only, converted to their types, and no key
 * that could reach an object's prototype anywhere in a body or query (class-transformer would drop
 * such keys silently; they are refused instead, so that an attacker learns nothing works).
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: true });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const key = findForbiddenKey(value);
      if (key) throw new BadRequestException(`property ${key} should not exist`);
    }
    return super.transform(value, metadata);
  }
}
