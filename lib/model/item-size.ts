/**
 * DynamoDB's item-size arithmetic, used to reject a payload or result before DynamoDB would.
 * Follows the documented rules (names and strings in UTF-8 bytes, numbers about one byte per two
 * significant digits plus one, 3 bytes of overhead per map or list and 1 per element), rounding
 * up where the docs say "approximately". Pure.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** Bytes one attribute value takes. */
export function attributeValueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (v.NS) return v.NS.reduce((sum, s) => sum + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (v.L) return 3 + v.L.reduce((sum, e) => sum + 1 + attributeValueSize(e), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((sum, [k, e]) => sum + utf8(k) + 1 + attributeValueSize(e), 0);
  return 0;
}

/** Bytes a whole item takes (attribute names plus values). */
export function itemSize(item: Record<string, AttributeValue>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += utf8(name) + attributeValueSize(value);
  return total;
}
