import type { RateLimitedRoute } from '../config/app-config.js';
import { emailIdentifier, usernameIdentifier, type LoginIdentifier } from './login-identifier.js';

/** Longer values are invalid anyway (the DTOs refuse them); they are not worth hashing. */
const MAX_LENGTH = 320;

/**
 * The account a request body names, read before validation (guards run before pipes), so
 * anything that is not a non-empty string counts as none: such a body fails validation.
 */
export function accountOf(route: RateLimitedRoute, body: unknown): LoginIdentifier | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { email, username } = body as { email?: unknown; username?: unknown };
  switch (route) {
    case 'login':
      if (isText(email)) return emailIdentifier(email);
      return isText(username) ? usernameIdentifier(username) : undefined;
    case 'register':
    case 'forgotPassword':
    case 'verifyOtp':
    case 'resendVerification':
      return isText(email) ? emailIdentifier(email) : undefined;
    case 'refresh':
    case 'verifyEmail':
    case 'changePassword': // these four are keyed by the caller or the token (rate-limit-subject.ts)
    case 'deleteAccount':
    case 'resetPassword':
    case 'adminPassword':
      return undefined;
  }
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && value.length <= MAX_LENGTH;
}
