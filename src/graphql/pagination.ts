// Page sizes of the connections whose pages tdplan computes itself (candidates, what-if lists):
// one check, one error, for all of them.
import { ValidationError } from '../errors.js';

export interface PageLimits {
  /** Used when the client gives no `first`. */
  defaultSize: number;
  max: number;
}

/** `first`, or the default; a ValidationError naming `first` when outside 0..max. */
export function pageSize(first: number | null | undefined, limits: PageLimits): number {
  const size = first ?? limits.defaultSize;
  if (size < 0 || size > limits.max) throw new ValidationError([{ field: 'first', message: `must be 0..${limits.max}, got ${size}` }]);
  return size;
}
