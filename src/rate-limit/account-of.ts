import type { RateLimitedRoute } from '../config/app-config.js';
import { acceptedEmail, acceptedUsername } from '../common/identifiers.js';
import type { LoginIdentifier } from './login-identifier.js';

/**
 * The account a request body names, read before validation (guards run before pipes),
 * through the same normalizer and the same acceptance rule as the DTOs
 * (`common/identifiers.ts`): the key is that of the value the service will act on, whatever
 * padding, case, Unicode form or width the client sent. A value the DTO would refuse (not
 * a string, an invalid or over-long address) names no account; such a request never
 * reaches the service, it is answered 400 by the validation pipe. No length or other
 * shortcut of its own: there is nothing here the DTO does not decide the same way.
 */
export function accountOf(route: RateLimitedRoute, body: unknown): LoginIdentifier | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { email, username } = body as { email?: unknown; username?: unknown };
  switch (route) {
    case 'login':
      // Both, or neither, is a 400 too (exactly one of them is required).
      if (email !== undefined) return emailKey(email);
      return username === undefined ? undefined : usernameKey(username);
    case 'register':
    case 'forgotPassword':
    case 'verifyOtp':
    case 'resendVerification':
      return emailKey(email);
    case 'refresh':
    case 'verifyEmail':
    case 'changePassword': // these four are keyed by the caller or the token (rate-limit-subject.ts)
    case 'deleteAccount':
    case 'resetPassword':
    case 'adminPassword':
    case 'mfaVerify': // keyed by its mfa_token, mfaManage by the caller
    case 'mfaManage':
    case 'reauthenticate':
    case 'passkeyLogin': // keyed by the user handle of the assertion
      return undefined;
  }
}

function emailKey(raw: unknown): LoginIdentifier | undefined {
  const value = acceptedEmail(raw);
  return value === undefined ? undefined : { kind: 'email', value };
}

function usernameKey(raw: unknown): LoginIdentifier | undefined {
  const value = acceptedUsername(raw);
  return value === undefined ? undefined : { kind: 'username', value };
}
