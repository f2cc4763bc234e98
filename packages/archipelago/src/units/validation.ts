// Strict request validation, the default of every api and realtime unit. Fastify's own defaults
// coerce JSON bodies (`{"title": 5}` becomes "5", `null` becomes false) and silently drop unknown
// properties; here a JSON body is checked as it was sent, and only query, path and header values —
// which are strings on the wire — are coerced to the schema's types.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/** A string format: one line of text, no control characters (C0, DEL, C1, U+2028/U+2029). */
export const SINGLE_LINE = 'single-line';
/** Set `'x-allow-nul': true` on a string schema to accept U+0000 in it; every other string refuses it. */
export const ALLOW_NUL = 'x-allow-nul';

// Tab and line breaks too: a single-line value can end up in a header, a log line or a subject.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: false });
  addFormats(ajv);
  return textRules(ajv);
}

/** The `single-line` format and the `x-allow-nul` keyword, on any Ajv (Fastify's own too, for units that opt out). */
export function textRules(ajv: Ajv): Ajv {
  ajv.addFormat(SINGLE_LINE, { type: 'string', validate: (s: string) => !CONTROL.test(s) });
  ajv.addKeyword({
    keyword: ALLOW_NUL, type: 'string', schemaType: 'boolean', errors: true,
    validate: function check(allow: boolean, data: string) {
      if (allow || !data.includes('\u0000')) return true;
      (check as { errors?: Partial<ErrorObject>[] }).errors = [{ keyword: ALLOW_NUL, message: 'must not contain a NUL character', params: {} }];
      return false;
    },
  });
  return ajv;
}

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const COMBINATORS = ['allOf', 'anyOf', 'oneOf'];
const SUBSCHEMA = ['items', 'additionalItems', 'additionalProperties', 'if', 'then', 'else', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'];

/**
 * A copy of `schema` in which an object that lists its `properties` and says nothing about others
 * refuses them, and every string refuses NUL unless it allows it. Objects that take part in a
 * combination (`allOf` and friends, `$ref`) are left open: closing one branch would refuse the
 * properties another branch declares. `close: false` (headers, which always carry more than a
 * schema lists) keeps only the NUL rule.
 */
export function strictSchema(schema: unknown, inCombination = false, close = true): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strictSchema(s, inCombination, close));
  if (!isSchema(schema)) return schema;
  const out: Schema = { ...schema };
  const combined = inCombination || COMBINATORS.some((k) => k in schema) || '$ref' in schema;
  const sub = (s: unknown, inCombo = false) => strictSchema(s, inCombo, close);
  for (const k of SUBSCHEMA) if (isSchema(out[k]) || (k === 'items' && Array.isArray(out[k]))) out[k] = sub(out[k]);
  if (Array.isArray(out.prefixItems)) out.prefixItems = out.prefixItems.map((s) => sub(s));
  for (const k of SUBSCHEMA_MAPS) {
    if (isSchema(out[k])) out[k] = Object.fromEntries(Object.entries(out[k]).map(([name, s]) => [name, sub(s)]));
  }
  for (const k of COMBINATORS) if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map((s) => sub(s, true));
  if (close && isSchema(out.properties) && !combined && !('additionalProperties' in schema) && !('patternProperties' in schema) && !('unevaluatedProperties' in schema)) {
    out.additionalProperties = false;
  }
  const t = out.type;
  const mayBeString = t === undefined || t === 'string' || (Array.isArray(t) && t.includes('string'));
  if (mayBeString && !(ALLOW_NUL in out)) out[ALLOW_NUL] = false;
  return out;
}

/**
 * The validator compiler of a strict unit: one Ajv without coercion for bodies, one that coerces
 * for the other parts, both knowing the `single-line` format and the NUL rule.
 */
export function strictValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const body = makeAjv(false), other = makeAjv(true);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? body : other;
    const validate: ValidateFunction = ajv.compile(strictSchema(schema, false, httpPart !== 'headers') as Schema);
    return validate as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}

/** `body.tags[0]` for part `body` and instance path `/tags/0`. */
export function fieldOf(part: string, instancePath: string, child?: string): string {
  const segments = instancePath.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (child !== undefined) segments.push(child);
  return segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : `${acc}.${s}`), part);
}

/** The field a validation error is about, named from the request part down. */
export function fieldOfError(part: string, e: Pick<ErrorObject, 'keyword' | 'instancePath' | 'params'>): string {
  const p = e.params as { additionalProperty?: string; missingProperty?: string };
  if (e.keyword === 'additionalProperties' && p.additionalProperty !== undefined) return fieldOf(part, e.instancePath, p.additionalProperty);
  if (e.keyword === 'required' && p.missingProperty !== undefined) return fieldOf(part, e.instancePath, p.missingProperty);
  return fieldOf(part, e.instancePath);
}

/** Fastify's `schemaErrorFormatter`: one sentence naming the field and what is wrong with it. */
export function formatValidationError(errors: readonly Partial<ErrorObject>[], part: string): Error {
  const e = errors[0] as ErrorObject | undefined;
  if (!e) return new Error(`${part} is invalid`);
  const field = fieldOfError(part, e);
  const what = e.keyword === 'additionalProperties' ? 'is not a known property'
    : e.keyword === 'required' ? 'is required'
      : e.keyword === 'format' && (e.params as { format?: string }).format === SINGLE_LINE ? 'must be a single line without control characters'
        : e.message ?? 'is invalid';
  return new Error(`${field} ${what}`);
}
