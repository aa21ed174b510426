/**
 * What OpenAI's chat completions refuse in a `response_format` of type json_schema with strict: true,
 * as its Structured Outputs guide documents the supported subset: the root is an object (not anyOf);
 * every object sets additionalProperties: false and lists every property in `required`; only the
 * supported keywords (strings: pattern, format; numbers: minimum, maximum, exclusive bounds,
 * multipleOf; arrays: minItems, maxItems) appear; at most 5000 properties and 10 levels of nesting;
 * the name is 1-64 letters, digits, underscores or dashes. A refusal is a 400 whose message names the
 * place, as the real API's does.
 */

const SUPPORTED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'description',
  'title',
  '$defs',
  '$ref',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);
const MAX_PROPERTIES = 5000;
const MAX_DEPTH = 10;

/** Why OpenAI would refuse this response_format, or null when it accepts it. */
export function responseFormatProblem(format: unknown): string | null {
  if (format === undefined) return null;
  const f = format as { type?: unknown; json_schema?: { name?: unknown; strict?: unknown; schema?: unknown } };
  if (f.type === 'text' || f.type === 'json_object') return null;
  if (f.type !== 'json_schema')
    return `Invalid value: '${String(f.type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`;
  const spec = f.json_schema;
  if (!spec || typeof spec.name !== 'string') return "Missing required parameter: 'response_format.json_schema.name'.";
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
    return `Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`;
  }
  if (spec.strict !== true) return null;
  const schema = spec.schema as Record<string, unknown> | undefined;
  const name = spec.name;
  const where = (path: string[]) =>
    `Invalid schema for response_format '${name}': In context=(${path.map((p) => `'${p}'`).join(', ')}), `;
  if (!schema || schema.type !== 'object' || 'anyOf' in schema) {
    return `${where([])}schema must be a JSON Schema of 'type: "object"', got 'type: "${String(schema?.type)}"'.`;
  }
  let properties = 0;
  const visit = (node: Record<string, unknown>, path: string[], depth: number): string | null => {
    if (depth > MAX_DEPTH) return `${where(path)}the schema nests more than ${MAX_DEPTH} levels.`;
    for (const key of Object.keys(node)) {
      if (!SUPPORTED.has(key)) return `${where(path)}'${key}' is not permitted.`;
    }
    if (node.type === 'object' || node.properties) {
      const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
      if (node.additionalProperties !== false) {
        return `${where(path)}'additionalProperties' is required to be supplied and to be false.`;
      }
      const required = Array.isArray(node.required) ? (node.required as string[]) : null;
      const missing = Object.keys(props).filter((k) => !required?.includes(k));
      if (!required || missing.length > 0) {
        return `${where(path)}'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0] ?? ''}'.`;
      }
      properties += Object.keys(props).length;
      if (properties > MAX_PROPERTIES) return `${where(path)}the schema has more than ${MAX_PROPERTIES} properties.`;
      for (const [name, child] of Object.entries(props)) {
        const problem = visit(child, [...path, 'properties', name], depth + 1);
        if (problem) return problem;
      }
    }
    for (const [name, definition] of Object.entries((node.$defs ?? {}) as Record<string, Record<string, unknown>>)) {
      const problem = visit(definition, [...path, '$defs', name], depth + 1);
      if (problem) return problem;
    }
    if (typeof node.$ref === 'string' && !/^#(\/\$defs\/[\w-]+)?$/.test(node.$ref)) {
      return `${where(path)}'$ref' must point into '$defs' of this schema, got '${node.$ref}'.`;
    }
    if (node.items) return visit(node.items as Record<string, unknown>, [...path, 'items'], depth + 1);
    for (const [i, option] of ((node.anyOf ?? []) as Record<string, unknown>[]).entries()) {
      const problem = visit(option, [...path, 'anyOf', String(i)], depth + 1);
      if (problem) return problem;
    }
    return null;
  };
  return visit(schema, [], 1);
}
