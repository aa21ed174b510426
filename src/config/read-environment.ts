import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';

/** A bad environment; its message is one line naming the variable, printed as it is by main.ts. */
export class ConfigurationError extends Error {}

/**
 * One domain's environment variables: a class whose fields are the variables, each with its rule
 * and message (class-validator decorators) and its default (the field's initial value).
 */
export type EnvironmentClass = new () => object;

/** The variables all of the classes declare, as one object. */
export type EnvironmentOf<Classes extends readonly EnvironmentClass[]> = Classes extends readonly [
  infer First extends EnvironmentClass,
  ...infer Rest extends readonly EnvironmentClass[],
]
  ? InstanceType<First> & EnvironmentOf<Rest>
  : unknown;

/**
 * A rule across variables, checked once every variable has passed its own: the problem as one
 * sentence naming the variable to change, or undefined when there is none.
 */
export type EnvironmentRule<Env> = (env: Env) => string | undefined;

function firstMessage(errors: ValidationError[]): string {
  for (const error of errors) {
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) return messages[0];
  }
  return 'invalid configuration';
}

/**
 * Reads the variables the classes declare from `raw`: converted, defaults filled in, each checked
 * against its rule, class by class. Throws a ConfigurationError with the first problem found.
 */
export function readEnvironment<const Classes extends readonly EnvironmentClass[]>(
  classes: Classes,
  raw: Record<string, unknown> = process.env,
): EnvironmentOf<Classes> {
  const values: Record<string, unknown> = {};
  for (const Environment of classes) {
    const env = plainToInstance(Environment, raw, { exposeDefaultValues: true }) as Record<string, unknown>;
    const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
    if (errors.length > 0) {
      throw new ConfigurationError(`Invalid configuration: ${firstMessage(errors)}.`);
    }
    // plainToInstance copies every raw variable; keep only the class's own. A fresh instance has
    // exactly those as own keys: TypeScript defines every declared field, one without a default too.
    for (const name of Object.keys(new Environment())) values[name] = env[name];
  }
  return values as EnvironmentOf<Classes>;
}
