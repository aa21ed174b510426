import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsInt,
  Max,
  Min,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { validateCronExpression } from 'cron';
import { WEBHOOK_SECRET_RULE, webhookSigningKeys } from './webhook-secrets.js';

/* The rules the classes in settings/ declare their variables with, each failing with one line naming the variable. */

@ValidatorConstraint({ name: 'webhookSecrets' })
export class IsWebhookSecrets implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && webhookSigningKeys(value) !== undefined;
  }
  defaultMessage(): string {
    return WEBHOOK_SECRET_RULE;
  }
}

@ValidatorConstraint({ name: 'cronExpression' })
export class IsCronExpression implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && validateCronExpression(value).valid;
  }
  defaultMessage(): string {
    return 'CLEANUP_CRON must be a cron expression such as "0 3 * * *" (minute hour day month weekday, UTC)';
  }
}

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === ''
    ? undefined
    : /^-?\d+$/.test(typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '')
      ? Number(value)
      : Number.NaN;
export const toBoolean = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : value === 'true' ? true : value === 'false' ? false : value;
export const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * An integer setting within [min, max]; every way it can be wrong gets the one message, which
 * names the variable: "<NAME> must be an integer from <min> to <max>" unless `message` says more.
 */
export function IntegerSetting(min: number, max: number, message?: string): PropertyDecorator {
  const text = (args: ValidationArguments) => message ?? `${args.property} must be an integer from ${min} to ${max}`;
  return applyDecorators(
    Transform(toInt),
    IsInt({ message: text }),
    Min(min, { message: text }),
    Max(max, { message: text }),
  );
}

/** CORS_ORIGINS as a list (empty when unset: same origin only). */
export function corsOriginList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}
