import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../common/auth/principal.js';
import type { RateLimitedRoute } from '../config/app-config.js';
import { accountOf } from './account-of.js';
import { identifierKey } from './login-identifier.js';

/** Routes whose account is the authenticated caller (limited after authentication). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const AUTHENTICATED_ROUTES: readonly RateLimitedRoute[] = [
  'changePassword',
  'deleteAccount',
  'adminPassword',
  'mfaManage',
  'reauthenticate',
];

export function isAuthenticatedRoute(route: RateLimitedRoute): boolean {
  return AUTHENTICATED_ROUTES.includes(route);
}

type LimitedRequest = Pick<FastifyRequest, 'body'> & { user?: unknown };

/**
 * Whether a request counts for its route at all: the admin's `PATCH /api/users/:id` only
 * when it sets a password (the limit is there to bound the hashing an admin can ask for).
 */
export function countsFor(route: RateLimitedRoute, request: LimitedRequest): boolean {
  if (route !== 'adminPassword') return true;
  const body = request.body;
  return typeof body === 'object' && body !== null && 'password' in body;
}

/**
 * The account key of a request for its route's `_ACCOUNT` limit, or `undefined` when it
 * names none (then only the IP limit applies):
 * - routes keyed by the caller: `user:<id>` of the authenticated user;
 * - reset-password: `token:<sha256>` of the presented token (one link or reset token
 *   cannot be replayed in a burst, each request hashing a new password);
 * - mfa/verify: `user:<id>` of the user the `mfa_token` names (its prefix), so a new login
 *   does not buy new attempts;
 * - passkeys/login: `user:<id>` of the user handle the assertion claims (the passkey's
 *   user id, which a discoverable credential returns), so that one account's passkey
 *   cannot be tried in bursts from many IPs;
 * - the others: the normalized email or username of the body (`accountOf`).
 */
export function accountKeyOf(route: RateLimitedRoute, request: LimitedRequest): string | undefined {
  if (isAuthenticatedRoute(route)) {
    const principal = request.user as Principal | undefined;
    return principal ? `user:${principal.user.id}` : undefined;
  }
  if (route === 'mfaVerify') {
    // `<user id>.<secret>` (MfaService.createChallenge): the account is the user.
    const token = (request.body as { mfa_token?: unknown } | null | undefined)?.mfa_token;
    const userId = typeof token === 'string' ? token.split('.', 1)[0] : undefined;
    return userId && UUID.test(userId) ? `user:${userId.toLowerCase()}` : undefined;
  }
  if (route === 'passkeyLogin') {
    const body = request.body as { credential?: { response?: { userHandle?: unknown } } } | null;
    const handle = body?.credential?.response?.userHandle;
    const userId =
      typeof handle === 'string' && handle.length <= 64
        ? Buffer.from(handle, 'base64url').toString('utf8')
        : undefined;
    return userId && UUID.test(userId) ? `user:${userId.toLowerCase()}` : undefined;
  }
  if (route === 'resetPassword') {
    const body = request.body as { token?: unknown } | null | undefined;
    const token = body?.token;
    if (typeof token !== 'string' || token === '') return undefined;
    return `token:${createHash('sha256').update(token).digest('hex')}`;
  }
  const identifier = accountOf(route, request.body);
  return identifier && identifierKey(identifier);
}
