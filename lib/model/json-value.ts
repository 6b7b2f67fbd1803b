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

/**
 * Numbers: DynamoDB stores magnitudes from 1e-130 to just under 1e126, but a JavaScript number
 * above 2^53 - 1 is not exact, and the SDK refuses to send one. Larger values belong in strings.
 */
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
        if (mag > Number.MAX_SAFE_INTEGER) {
          throw new ValidationError(path, `a number with magnitude at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1)`, `${v} cannot be stored exactly; pass it as a string`);
        }
        if (mag !== 0 && mag < DDB_NUMBER_MIN) {
          throw new ValidationError(path, 'a number with magnitude of at least 1e-130 (DynamoDB)', `${v} is below DynamoDB's number range`);
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
    // The attribute itself is a level: its maps and lists may nest MAX_NESTING_DEPTH - 1 deep.
    if (depth >= MAX_NESTING_DEPTH - 1) {
      throw new ValidationError(path, `nested at most ${MAX_NESTING_DEPTH - 1} maps or lists deep (DynamoDB allows ${MAX_NESTING_DEPTH} levels per attribute)`);
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
