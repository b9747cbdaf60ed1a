import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../config/app-config.js';
import type { IssuedSession } from '../sessions/sessions.service.js';
import { UserDto } from '../users/dto/user.dto.js';
import type { User } from '../users/entities/user.entity.js';
import type { TokenResponseDto } from './dto/token-response.dto.js';
import { SigningKeys } from '../keys/signing-keys.js';

/** The claims of our access tokens besides the registered ones jsonwebtoken adds. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  role: string;
  /** RFC 8176 authentication methods of the session: `pwd`, plus `otp` and `mfa`. */
  amr: string[];
  /** Authenticator assurance level (NIST 800-63B): 2 with a second factor, else 1. */
  aal: 1 | 2;
}

/** What login and refresh hand to the controller, which delivers the refresh token (body or cookie). */
export interface IssuedTokens {
  /** The token response with `refresh_token`; cookie transport removes it from the body. */
  response: TokenResponseDto & { refresh_token: string };
  /** When the session ends unless refreshed before: the refresh cookie's lifetime. */
  sessionExpiresAt: Date;
}

/** Signs access tokens (RFC 9068 `at+jwt`, ES256) and builds the token response. */
@Injectable()
export class TokenService {
  private readonly expiresInSeconds: number;

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeys,
    private readonly config: AppConfig,
  ) {
    this.expiresInSeconds = Math.max(1, Math.round(config.jwt.accessTokenTtlMs / 1000));
  }

  signAccessToken(user: User, sessionId: string, amr: string[]): string {
    const claims: AccessTokenClaims = {
      sub: user.id,
      sid: sessionId,
      role: user.role,
      amr,
      aal: amr.includes('mfa') ? 2 : 1,
    };
    return this.jwt.sign(claims, {
      privateKey: this.keys.privateKey,
      algorithm: 'ES256',
      keyid: this.keys.kid,
      header: { alg: 'ES256', typ: 'at+jwt', kid: this.keys.kid },
      issuer: this.config.jwt.issuer,
      audience: this.config.jwt.audience,
      expiresIn: this.expiresInSeconds,
    });
  }

  tokenResponse(user: User, session: IssuedSession): IssuedTokens {
    return {
      response: {
        access_token: this.signAccessToken(user, session.sessionId, session.amr),
        token_type: 'Bearer',
        expires_in: this.expiresInSeconds,
        refresh_token: session.refreshToken,
        user: UserDto.from(user),
      },
      sessionExpiresAt: session.expiresAt,
    };
  }
}
