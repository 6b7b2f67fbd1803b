/**
 * The stream trigger's filter, as plain data (no SDK import): the CDK construct reads it at synth
 * time without loading the runtime.
 */
import { ATTR } from '../schema.ts';

/**
 * The filter criteria of the event source mapping: only records that leave a job pending reach
 * the function (claims, progress writes, completions and deletions are dropped by Lambda for free).
 */
export function streamFilterPattern(): Record<string, unknown> {
  return { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { [ATTR.status]: { S: ['pending'] } } } };
}
