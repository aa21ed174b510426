import { IsIn } from 'class-validator';

/**
 * What this process is. main.ts reads these at boot (it starts the modules of ROLE), the root
 * logger reads LOG_LEVEL, and NODE_ENV=production tightens rules of other domains; nothing
 * injects them, so this domain has no settings object.
 */
export class ServerEnvironment {
  @IsIn(['development', 'production', 'test'], { message: 'NODE_ENV must be development, production or test' })
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** api serves HTTP and never transcribes; worker transcribes and serves only /health and /metrics. */
  @IsIn(['api', 'worker', 'all'], { message: 'ROLE must be api, worker or all' })
  ROLE: 'api' | 'worker' | 'all' = 'all';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
    message: 'LOG_LEVEL must be fatal, error, warn, info, debug or trace',
  })
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' = 'info';
}
