import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { isUuid } from '../../common/http/request-id.js';
import { AppConfig } from '../../config/app-config.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { SigningKeys } from '../keys/signing-keys.js';
import type { Principal } from '../principal.js';

interface CompleteJwt {
  header: JwtHeader;
  payload: JwtPayload;
}

/**
 * Bearer access tokens: signature with the algorithm pinned to ES256 and our public key
 * (parsed once), `iss`, `aud`, `exp` and `nbf` checked by jsonwebtoken; then `typ`, `kid`
 * and the claims here; then one query that the session and the user are still active.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeys,
    config: AppConfig,
    private readonly sessions: SessionsRepository,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: keys.publicKey as unknown as string,
      algorithms: ['ES256'],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { complete: true },
    });
    this.kid = keys.kid;
  }

  private readonly kid: string;

  async validate(token: CompleteJwt): Promise<Principal | false> {
    const { header, payload } = token;
    if (header.typ !== 'at+jwt' || header.kid !== this.kid) return false;
    const { sub, sid, exp } = payload as { sub?: unknown; sid?: unknown; exp?: unknown };
    // jsonwebtoken only checks `exp` when present; ours always carry it.
    if (typeof exp !== 'number') return false;
    if (typeof sub !== 'string' || typeof sid !== 'string' || !isUuid(sub) || !isUuid(sid)) {
      return false;
    }
    const user = await this.sessions.findPrincipal(sid, sub);
    return user ? { user, sessionId: sid } : false;
  }
}
