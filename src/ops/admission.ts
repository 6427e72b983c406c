// Per-token admission: how many requests one API token may have in flight, and how many it may
// start per second (a token bucket holding one second's worth). One runaway script then slows
// down only itself: other tokens, such as the planning UI's, keep their share of the server.

export interface TokenLimits {
  /** Requests of one token being served at once; 0 = no limit. */
  maxConcurrent: number;
  /** Requests one token may start per second, on average; a burst of this many is allowed. 0 = no limit. */
  requestsPerSecond: number;
}

export const NO_TOKEN_LIMITS: TokenLimits = { maxConcurrent: 0, requestsPerSecond: 0 };

export type Admission = { admitted: true; release(): void } | { admitted: false; limit: 'concurrency' | 'rate'; value: number; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export class TokenAdmission {
  private readonly inFlight = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limits: TokenLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Admits a request of `key` (a token's name), or says which limit it hit and when to retry. */
  admit(key: string): Admission {
    const { maxConcurrent, requestsPerSecond } = this.limits;
    const running = this.inFlight.get(key) ?? 0;
    if (maxConcurrent > 0 && running >= maxConcurrent) return { admitted: false, limit: 'concurrency', value: maxConcurrent, retryAfterSeconds: 1 };
    if (requestsPerSecond > 0) {
      const now = this.now();
      const bucket = this.buckets.get(key) ?? { tokens: requestsPerSecond, refilledAt: now };
      bucket.tokens = Math.min(requestsPerSecond, bucket.tokens + ((now - bucket.refilledAt) / 1000) * requestsPerSecond);
      bucket.refilledAt = now;
      this.buckets.set(key, bucket);
      if (bucket.tokens < 1) {
        return { admitted: false, limit: 'rate', value: requestsPerSecond, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / requestsPerSecond)) };
      }
      bucket.tokens -= 1;
    }
    this.inFlight.set(key, running + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(key) ?? 1) - 1;
        if (left > 0) this.inFlight.set(key, left);
        else this.inFlight.delete(key);
      },
    };
  }
}
