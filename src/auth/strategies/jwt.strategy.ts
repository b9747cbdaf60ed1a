import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { isUuid } from '../../common/http/request-id.js';
import { AppConfig } from '../../config/app-config.js';
import { SigningKeys } from '../../keys/signing-keys.js';

/** What a valid access token says about its caller; the session is checked afterwards. */
export interface AccessTokenSubject {
  readonly userId: string;
  readonly sessionId: string;
}

/** A token passport-jwt accepted: its subject, and the checks whose outcome changes with time. */
export interface VerifiedAccessToken extends AccessTokenSubject {
  /** Seconds since the epoch: expired at `exp`, valid from `nbf`. */
  readonly exp: number;
  readonly nbf: number | undefined;
}

interface CompleteJwt {
  header: JwtHeader;
  payload: JwtPayload;
}

/**
 * `Authorization: Bearer <token>`, the scheme compared case-insensitively: the one
 * extractor of the strategy and of the guard's verified-token cache, so both always look
 * at the same string.
 */
export const extractAccessToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * Bearer access tokens, verified by passport-jwt (jsonwebtoken underneath): the signature
 * with the algorithm pinned to ES256 and our public key (parsed once, at start-up), `iss`,
 * `aud`, `exp` and `nbf`; then `typ: at+jwt`, our `kid` and the shape of `sub` and `sid`
 * here. Whether the session and the user are still active is the guard's query, made on
 * every request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly kid: string;

  constructor(keys: SigningKeys, config: AppConfig) {
    super({
      jwtFromRequest: extractAccessToken,
      secretOrKey: keys.publicKey as unknown as string,
      algorithms: ['ES256'],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { complete: true },
    });
    this.kid = keys.kid;
  }

  validate({ header, payload }: CompleteJwt): VerifiedAccessToken | false {
    if (header.typ !== 'at+jwt' || header.kid !== this.kid) return false;
    const { sub, sid, exp, nbf } = payload as Record<string, unknown>;
    // jsonwebtoken checks `exp` only when present; ours always carry it.
    if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return false;
    if (typeof sub !== 'string' || typeof sid !== 'string' || !isUuid(sub) || !isUuid(sid)) {
      return false;
    }
    return { userId: sub, sessionId: sid, exp, nbf };
  }
}
