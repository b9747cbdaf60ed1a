import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { isUuid } from '../common/http/request-id.js';
import { AppConfig } from '../config/app-config.js';
import { SigningKeys } from './keys/signing-keys.js';

/** What a valid access token says about its caller; the session is checked afterwards. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
}

interface Verified extends AccessTokenSubject {
  /** `exp` and `nbf` (seconds), the only checks whose outcome changes with time. */
  exp: number;
  nbf: number | undefined;
}

/**
 * How many verified tokens are remembered: about 1 MB at most, and only tokens that
 * passed every check (a forged or malformed token is never stored, so nobody can fill it
 * without logging in).
 */
const REMEMBERED_TOKENS = 2_048;

/**
 * Verifies bearer access tokens: the signature with the algorithm pinned to ES256 and our
 * public key (parsed once, at start-up), `iss`, `aud`, `exp` and `nbf` by jsonwebtoken;
 * then `typ: at+jwt`, our `kid` and the shape of `sub` and `sid` here.
 *
 * An ECDSA verification costs more CPU than everything else a typical authenticated
 * request does, and an app sends the same token with every call for its 15 minutes. So
 * the outcome for a token string is remembered (a bounded map, oldest out first): the
 * same bytes under the same key always verify the same way, except for `exp` and `nbf`,
 * which are checked again on every use. A different string, one changed bit included, is
 * verified in full. The session and the user are checked in the database on every
 * request by the guard, cached or not, so logout and deactivation still take effect at
 * once.
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeys,
    private readonly config: AppConfig,
  ) {}

  /** The token's subject, or `undefined` when it is not a valid access token now. */
  verify(token: string): AccessTokenSubject | undefined {
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token);
    if (known) {
      if (isCurrent(known, now)) return known;
      this.verified.delete(token);
      return undefined;
    }
    const fresh = this.verifyInFull(token);
    if (!fresh) return undefined;
    if (this.verified.size >= REMEMBERED_TOKENS) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, fresh);
    return fresh;
  }

  private verifyInFull(token: string): Verified | undefined {
    let header: JwtHeader;
    let payload: JwtPayload;
    try {
      ({ header, payload } = this.jwt.verify<{ header: JwtHeader; payload: JwtPayload }>(token, {
        publicKey: this.keys.publicKey as unknown as string,
        algorithms: ['ES256'],
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        complete: true,
      }));
    } catch {
      return undefined; // bad signature, algorithm, issuer, audience, expired, malformed...
    }
    if (header.typ !== 'at+jwt' || header.kid !== this.keys.kid) return undefined;
    const { sub, sid, exp, nbf } = payload as Record<string, unknown>;
    // jsonwebtoken checks `exp` only when present; ours always carry it.
    if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return undefined;
    if (typeof sub !== 'string' || typeof sid !== 'string' || !isUuid(sub) || !isUuid(sid)) {
      return undefined;
    }
    return { userId: sub, sessionId: sid, exp, nbf };
  }
}

/** jsonwebtoken's own rules, without clock tolerance: expired at `exp`, valid from `nbf`. */
function isCurrent(token: Verified, now: number): boolean {
  return now < token.exp && (token.nbf === undefined || token.nbf <= now);
}
