/**
 * Checks that a value can be stored as a native DynamoDB attribute and read back unchanged, and
 * returns its plain-JSON copy. Pure: no I/O.
 *
 * Stricter than `JSON.stringify` where that would lose data silently: functions, symbols,
 * bigints, Maps, Sets and class instances without `toJSON` are rejected instead of dropped or
 * turned into `{}`; lone UTF-16 surrogates (which DynamoDB's UTF-8 would replace) are rejected;
 * numbers must fit DynamoDB's number range; nesting is capped at DynamoDB's 32 levels.
 */
import { ValidationError } from '../errors.ts';
import { MAX_NESTING_DEPTH } from '../schema.ts';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** DynamoDB numbers: magnitude up to 9.99...e125, down to 1e-130. */
const DDB_NUMBER_MAX = 9.9999999999999999999999999999999999999e125;
const DDB_NUMBER_MIN = 1e-130;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True if the string has no lone UTF-16 surrogate. */
export function isWellFormedString(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * Validates `value` and returns its JSON copy.
 * @param field the name used in errors, e.g. `payload`
 * @throws ValidationError naming the path of the first offending value
 */
export function toJsonValue(value: unknown, field: string): JsonValue {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number, inArray: boolean): JsonValue | undefined => {
    if (v === null) return null;
    switch (typeof v) {
      case 'string':
        if (!isWellFormedString(v)) throw new ValidationError(path, 'well-formed Unicode text', 'contains a lone UTF-16 surrogate');
        return v;
      case 'boolean':
        return v;
      case 'number': {
        if (!Number.isFinite(v)) throw new ValidationError(path, 'a finite number', `${v} is not a JSON number`);
        const mag = Math.abs(v);
        if (mag !== 0 && (mag > DDB_NUMBER_MAX || mag < DDB_NUMBER_MIN)) {
          throw new ValidationError(path, 'a number with magnitude between 1e-130 and 9.99e125 (DynamoDB)', `${v} is outside DynamoDB's number range`);
        }
        return v === 0 ? 0 : v;
      }
      case 'undefined':
        // JSON semantics: dropped from objects, null in arrays.
        return inArray ? null : undefined;
      case 'bigint':
        throw new ValidationError(path, 'JSON-serialisable', 'a BigInt is not JSON; pass it as a string');
      case 'function':
      case 'symbol':
        throw new ValidationError(path, 'JSON-serialisable', `a ${typeof v} is not JSON`);
      case 'object':
        break;
    }
    const obj = v as object;
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      return walk((obj as { toJSON(): unknown }).toJSON(), path, depth, inArray);
    }
    if (depth >= MAX_NESTING_DEPTH) {
      throw new ValidationError(path, `nested at most ${MAX_NESTING_DEPTH} levels deep (DynamoDB)`);
    }
    if (seen.has(obj)) throw new ValidationError(path, 'JSON-serialisable', 'it contains a cycle');
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        return obj.map((item, i) => walk(item, `${path}[${i}]`, depth + 1, true) as JsonValue);
      }
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new ValidationError(path, 'JSON-serialisable', `a ${kind} is not plain JSON data`);
      }
      const out: { [key: string]: JsonValue } = {};
      for (const key of Object.keys(obj)) {
        if (!isWellFormedString(key)) throw new ValidationError(`${path}.<key>`, 'well-formed Unicode text', 'a key contains a lone UTF-16 surrogate');
        if (key === '') throw new ValidationError(`${path}.<key>`, 'non-empty object keys (DynamoDB rejects empty attribute names)', 'an object key is the empty string');
        const child = walk((obj as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, false);
        if (child !== undefined) out[key] = child;
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  const result = walk(value, field, 0, false);
  return result === undefined ? null : result;
}
