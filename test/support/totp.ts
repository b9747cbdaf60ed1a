// TOTP codes the way an authenticator app computes them (otpauth; RFC 6238: SHA1, 6 digits,
// 30 s), for the second-factor tests. A code once accepted is refused afterwards, and the
// server refuses any step at or before the last one it accepted, so an Authenticator hands
// out the codes of successful verifications in increasing steps (`fresh()`).
import { Secret, TOTP } from 'otpauth';
import { sleep } from './http.js';

export const PERIOD_MS = 30_000;
export const stepOf = (ms: number) => Math.floor(ms / PERIOD_MS);

/** An authenticator app holding one secret, which remembers the steps it has spent. */
export class Authenticator {
  readonly totp: TOTP;
  private spent: number;

  /** `after`: a step already spent for this account (by an earlier factor's authenticator). */
  constructor(
    readonly secret: string,
    after = -Infinity,
  ) {
    this.totp = new TOTP({
      secret: Secret.fromBase32(secret),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    this.spent = after;
  }

  /** The last step handed out by `fresh()` or marked by `spend()`. */
  get lastStep(): number {
    return this.spent;
  }

  /** The code of the step `offsetMs` away from now, and that step; spends nothing. */
  at(offsetMs = 0): { code: string; step: number } {
    const timestamp = Date.now() + offsetMs;
    return { code: this.totp.generate({ timestamp }), step: stepOf(timestamp) };
  }

  spend(step: number): void {
    this.spent = Math.max(this.spent, step);
  }

  /**
   * A code the server must accept: of the current or the next step (both inside the drift
   * window wherever the request lands), and of a later step than any handed out before.
   * Waits for the next step only when both are spent.
   */
  async fresh(): Promise<string> {
    for (;;) {
      const now = Date.now();
      const step = stepOf(now);
      for (const candidate of [step, step + 1]) {
        if (candidate > this.spent) {
          this.spent = candidate;
          return this.totp.generate({ timestamp: candidate * PERIOD_MS });
        }
      }
      await sleep((step + 1) * PERIOD_MS - now + 100);
    }
  }
}

/** `n` distinct six-digit codes that are none of the secret's codes within three steps of now. */
export function wrongCodes(auth: Authenticator, n: number): string[] {
  const near = new Set([-3, -2, -1, 0, 1, 2, 3].map((k) => auth.at(k * PERIOD_MS).code));
  const codes: string[] = [];
  let value = Number(auth.at().code);
  while (codes.length < n) {
    value = (value + 7919) % 1_000_000;
    const code = String(value).padStart(6, '0');
    if (!near.has(code) && !codes.includes(code)) codes.push(code);
  }
  return codes;
}
