import { Injectable } from '@nestjs/common';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie'; // request.cookies, reply.setCookie()
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import type { TokenResponseDto } from './dto/token-response.dto.js';
import type { IssuedTokens } from './token.service.js';

/** The HttpOnly cookie that carries the refresh token in cookie transport. */
export const REFRESH_COOKIE = 'refresh_token';
/** Readable by the page's scripts; Angular's HttpClient copies it into `X-XSRF-TOKEN`. */
export const XSRF_COOKIE = 'XSRF-TOKEN';
export const XSRF_HEADER = 'x-xsrf-token';
/** Only the routes that take a refresh token (refresh, logout) ever see the cookie. */
const REFRESH_COOKIE_PATH = '/api/auth';
/** Angular reads the XSRF cookie from `document.cookie`, which shows only cookies whose path covers the page. */
const XSRF_COOKIE_PATH = '/';

/**
 * How the refresh token travels (`REFRESH_TOKEN_TRANSPORT`).
 *
 * - `body`: in the JSON bodies, and cookies are neither set nor read.
 * - `cookie`: only in the `refresh_token` cookie (HttpOnly, SameSite=Strict, Path=/api/auth,
 *   Secure unless `COOKIE_SECURE=false`), never in a response body. CSRF defence: the
 *   double-submit pattern Angular implements. The server also sets the readable
 *   `XSRF-TOKEN` cookie, and a request authenticated by the refresh cookie must repeat its
 *   value in the `X-XSRF-TOKEN` header, else `403 FORBIDDEN`.
 *
 * The XSRF value is bound to the session: it is an HMAC of the current refresh token, so
 * it rotates with every refresh and needs no storage. A value planted by someone who can
 * write cookies (a sibling subdomain, a plain-http hop) does not match the victim's
 * refresh token, and the readable value discloses nothing about the HttpOnly one.
 */
@Injectable()
export class RefreshTransport {
  private readonly cookieMode: boolean;
  private readonly secure: boolean;

  constructor(config: AppConfig) {
    this.cookieMode = config.session.transport === 'cookie';
    this.secure = config.session.cookieSecure;
  }

  /**
   * The refresh token a refresh or logout request presents. Body transport: the body's.
   * Cookie transport: the cookie's, after the CSRF check; without a cookie, the body's
   * (a session opened before the switch to cookie transport moves to the cookie at its
   * next refresh). A token in a JSON body is never ambient, so it needs no CSRF check.
   */
  presentedToken(request: FastifyRequest, bodyToken: string | undefined): string | undefined {
    if (!this.cookieMode) return bodyToken;
    const cookie = request.cookies[REFRESH_COOKIE];
    if (!cookie) return bodyToken;
    this.checkXsrf(request, cookie);
    return cookie;
  }

  /** The token response to send: as is in body transport; in cookie transport the refresh token goes into the cookie. */
  deliver(reply: FastifyReply, issued: IssuedTokens): TokenResponseDto {
    if (!this.cookieMode) return issued.response;
    const { refresh_token: refreshToken, ...body } = issued.response;
    const maxAge = Math.max(0, Math.floor((issued.sessionExpiresAt.getTime() - Date.now()) / 1000));
    void reply.setCookie(REFRESH_COOKIE, refreshToken, {
      httpOnly: true,
      secure: this.secure,
      sameSite: 'strict',
      path: REFRESH_COOKIE_PATH,
      maxAge,
    });
    void reply.setCookie(XSRF_COOKIE, xsrfTokenFor(refreshToken), {
      httpOnly: false,
      secure: this.secure,
      sameSite: 'strict',
      path: XSRF_COOKIE_PATH,
      maxAge,
    });
    return body;
  }

  /** Expires both cookies (cookie transport), after the session they belong to has ended. */
  clear(reply: FastifyReply): void {
    if (!this.cookieMode) return;
    const attributes = { secure: this.secure, sameSite: 'strict' } as const;
    void reply.clearCookie(REFRESH_COOKIE, {
      ...attributes,
      httpOnly: true,
      path: REFRESH_COOKIE_PATH,
    });
    void reply.clearCookie(XSRF_COOKIE, { ...attributes, path: XSRF_COOKIE_PATH });
  }

  /** The header must equal the XSRF cookie, and both the value derived from the refresh cookie. */
  private checkXsrf(request: FastifyRequest, refreshToken: string): void {
    const header = request.headers[XSRF_HEADER];
    const cookie = request.cookies[XSRF_COOKIE];
    const valid =
      typeof header === 'string' &&
      typeof cookie === 'string' &&
      sameSecret(header, cookie) &&
      sameSecret(header, xsrfTokenFor(refreshToken));
    if (!valid) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        'A request authenticated by the refresh_token cookie must send the XSRF-TOKEN cookie value in the X-XSRF-TOKEN header.',
      );
    }
  }
}

/** The XSRF value of a session: HMAC-SHA256 of its current refresh token (domain-separated from the stored SHA-256). */
export function xsrfTokenFor(refreshToken: string): string {
  return createHmac('sha256', 'authkit xsrf-token v1').update(refreshToken).digest('base64url');
}

/** Constant-time comparison that leaks neither content nor length (both sides are hashed first). */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
