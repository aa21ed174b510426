import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { emptyToUndefined } from '../setting-rules.js';

export class ProviderEnvironment {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString({ message: 'OPENAI_API_KEY must be a string' })
  OPENAI_API_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'OPENAI_BASE_URL must be an http(s) URL, e.g. https://api.openai.com/v1' })
  OPENAI_BASE_URL?: string;
}

/** The OpenAI-compatible provider, for transcription and scoring alike. */
export const providerSettings = registerAs('provider', () => {
  const e = readEnvironment([ProviderEnvironment]);
  return { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL };
});

export type ProviderSettings = ConfigType<typeof providerSettings>;
