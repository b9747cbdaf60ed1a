import type { AccessTokenSubject, VerifiedAccessToken } from './strategies/jwt.strategy.js';

/**
 * How many verified tokens are remembered: about 1 MB at most, and only tokens that
 * passed every check (a forged or malformed token is never stored, so nobody can fill it
 * without logging in).
 */
const REMEMBERED_TOKENS = 2_048;

/**
 * The outcome of passport-jwt's verification for the token strings seen lately.
 *
 * An ECDSA verification costs more CPU than everything else a typical authenticated
 * request does, and an app sends the same token with every call for its 15 minutes. The
 * same bytes under the same key always verify the same way, except for `exp` and `nbf`,
 * which are checked again on every use; a different string, one changed bit included,
 * misses and is verified in full. A bounded map, oldest out first.
 */
export class VerifiedTokenCache {
  private readonly verified = new Map<string, VerifiedAccessToken>();

  /**
   * The subject of a remembered token that is still current; `false` for a remembered one
   * that no longer is; `undefined` for a token never verified (or forgotten since).
   */
  recall(token: string, now = Date.now()): AccessTokenSubject | false | undefined {
    const known = this.verified.get(token);
    if (!known) return undefined;
    if (isCurrent(known, Math.floor(now / 1000))) return known;
    this.verified.delete(token);
    return false;
  }

  remember(token: string, verified: VerifiedAccessToken): void {
    if (this.verified.size >= REMEMBERED_TOKENS) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, verified);
  }
}

/** jsonwebtoken's own rules, without clock tolerance: expired at `exp`, valid from `nbf`. */
function isCurrent(token: VerifiedAccessToken, nowSeconds: number): boolean {
  return nowSeconds < token.exp && (token.nbf === undefined || token.nbf <= nowSeconds);
}
