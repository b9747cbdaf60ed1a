// The signed-in state of this tab, for both refresh-token transports.
//
// - The access token lives in this module's memory only: each page load gets a fresh one by
//   refreshing, and it is refreshed again shortly before it expires and after any 401.
// - Body transport: the refresh token is kept in sessionStorage, the only place where it
//   survives moving from one page to the next in this tab; it is never sent by the browser on
//   its own (no CSRF) and is gone when the tab closes.
// - Cookie transport (the login answer has no `refresh_token`): the browser holds the refresh
//   token in an HttpOnly cookie this script cannot read; `send()` echoes the readable
//   `XSRF-TOKEN` cookie in the `X-XSRF-TOKEN` header (double-submit CSRF check).
import { ApiError, readCookie, send, XSRF_COOKIE, type SendOptions } from './api.js';
import type { MfaRequired, TokenResponse, User } from './types.js';

const REFRESH_KEY = 'authkit.refresh_token';
/** Refresh this long before the access token expires (a fifth of its life when shorter). */
const REFRESH_EARLY_MS = 60_000;
/** A token this close to expiry (a fifth of its life when shorter) is refreshed before use. */
const EXPIRY_MARGIN_MS = 10_000;

let accessToken: string | undefined;
let expiresAt = 0;
let marginMs = 0;
let user: User | undefined;
let refreshing: Promise<boolean> | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Body transport: tabs holding the same refresh token (a duplicated tab, or one opened by
 * script, gets a copy of sessionStorage) tell each other about every rotation. Otherwise one
 * of them would later present the rotated token, which the server takes for a stolen one:
 * it revokes the whole session. Same-origin only, like sessionStorage itself.
 */
interface Rotation {
  previous: string;
  next: string;
}
const rotations =
  typeof BroadcastChannel === 'function' ? new BroadcastChannel('authkit.rotation') : undefined;
rotations?.addEventListener('message', (event: MessageEvent<Rotation>) => {
  if (storedRefreshToken() === event.data.previous) {
    sessionStorage.setItem(REFRESH_KEY, event.data.next);
  }
});

/** Thrown once the session has ended and the page is on its way to /login. */
export class SignedOut extends Error {
  override readonly name = 'SignedOut';
}

/** Why the login page was opened; it shows a matching notice. */
export type SignInReason = 'ended' | 'signed-out';

export function currentUser(): User | undefined {
  return user;
}

export interface Credentials {
  email?: string;
  username?: string;
  password: string;
}

/** The password step: signed in, or the second step it asks for. */
export async function login(credentials: Credentials): Promise<User | MfaRequired> {
  const answer = await send<TokenResponse | MfaRequired>('/api/auth/login', {
    method: 'POST',
    body: credentials,
  });
  return 'mfa_required' in answer ? answer : accept(answer);
}

/** The second step: the `mfa_token` and a code, a recovery code or a passkey's assertion. */
export async function verifySecondStep(
  mfaToken: string,
  proof: { code: string } | { recoveryCode: string } | { webauthn: unknown },
): Promise<User> {
  return accept(
    await send<TokenResponse>('/api/auth/mfa/verify', {
      method: 'POST',
      body: { mfa_token: mfaToken, ...proof },
    }),
  );
}

/** Signs in with the tokens of another route (a passkey sign-in). */
export function adopt(tokens: TokenResponse): User {
  return accept(tokens);
}

/** True when this tab may hold a session (a stored refresh token, or the cookie pair). */
export function mightBeSignedIn(): boolean {
  return Boolean(storedRefreshToken() ?? readCookie(XSRF_COOKIE));
}

/**
 * Trades the refresh token for new tokens. Resolves false when there is no session (none
 * stored, or the server refused it: revoked, expired, reused, CSRF check failed); rejects
 * on errors that say nothing about the session (network, 429, 5xx). Concurrent callers
 * share one request, so one rotation happens.
 */
export function refresh(): Promise<boolean> {
  refreshing ??= rotate().finally(() => (refreshing = undefined));
  return refreshing;
}

/**
 * The signed-in user, after a refresh; without a session, goes to the login page (which
 * comes back here after signing in).
 */
export async function requireSession(): Promise<User> {
  const hadSession = mightBeSignedIn();
  if (!(await refresh())) return toLogin(hadSession ? 'ended' : undefined);
  return user!;
}

/**
 * A call with the access token: refreshed first when it is about to expire, and once more
 * (then retried) on a 401. A 401 comes from the guard, before the route did anything, so the
 * retry is safe. When no token can be had the session is over: off to the login page.
 */
export async function call<T>(path: string, options: SendOptions = {}): Promise<T> {
  if (!accessToken || Date.now() >= expiresAt - marginMs) {
    if (!(await refresh())) return toLogin('ended');
  }
  try {
    return await send<T>(path, { ...options, token: accessToken });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (!(await refresh())) return toLogin('ended');
    return send<T>(path, { ...options, token: accessToken });
  }
}

/** Ends this session (`local`) or every session of the user (`global`), then shows /login. */
export async function logout(scope: 'local' | 'global'): Promise<never> {
  try {
    if (accessToken || (await refresh())) {
      await send('/api/auth/logout', {
        method: 'POST',
        body: { scope },
        token: accessToken,
      });
    }
  } catch (error) {
    // 401: the session had already ended, which is what was asked for.
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  forget();
  return toLogin('signed-out');
}

/**
 * Notices a session ended elsewhere (revoked, user deactivated, password reset) without
 * waiting for the user's next click: a light call every minute and whenever the tab
 * becomes visible again.
 */
export function watchSession(intervalMs = 60_000): void {
  const check = () => {
    if (document.visibilityState !== 'visible') return;
    call<User>('/api/auth/me').then(
      (me) => (user = me),
      () => undefined, // SignedOut redirects by itself; other errors wait for the next check
    );
  };
  setInterval(check, intervalMs);
  document.addEventListener('visibilitychange', check);
}

/**
 * Forgets the session and opens the login page, which shows why (`reason`) and comes back
 * here afterwards unless the person signed out.
 */
export function toLogin(reason?: SignInReason): never {
  forget();
  const query = new URLSearchParams();
  if (reason) query.set('reason', reason);
  if (reason !== 'signed-out') query.set('next', location.pathname + location.search);
  location.assign(`/login?${query.toString()}`);
  throw new SignedOut();
}

async function rotate(): Promise<boolean> {
  const stored = storedRefreshToken();
  if (!stored && !readCookie(XSRF_COOKIE)) return false;
  try {
    const tokens = await send<TokenResponse>('/api/auth/refresh', {
      method: 'POST',
      body: stored ? { refresh_token: stored } : {},
    });
    accept(tokens);
    if (stored && tokens.refresh_token && tokens.refresh_token !== stored) {
      rotations?.postMessage({ previous: stored, next: tokens.refresh_token } satisfies Rotation);
    }
    return true;
  } catch (error) {
    if (error instanceof ApiError && [400, 401, 403].includes(error.status)) {
      forget();
      return false;
    }
    throw error;
  }
}

function accept(tokens: TokenResponse): User {
  accessToken = tokens.access_token;
  const lifetimeMs = tokens.expires_in * 1000;
  expiresAt = Date.now() + lifetimeMs;
  marginMs = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 5);
  user = tokens.user;
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  else sessionStorage.removeItem(REFRESH_KEY); // cookie transport: the browser holds it
  clearTimeout(refreshTimer);
  const delay = Math.max(1000, lifetimeMs - Math.min(REFRESH_EARLY_MS, lifetimeMs / 5));
  refreshTimer = setTimeout(() => void refreshOrLeave(), delay);
  return tokens.user;
}

/** The timed refresh: a refused session ends here; an offline one retries at the next call. */
async function refreshOrLeave(): Promise<void> {
  try {
    if (!(await refresh())) toLogin('ended');
  } catch {
    // SignedOut (already leaving), or a network error the next call will meet again.
  }
}

function forget(): void {
  accessToken = undefined;
  expiresAt = 0;
  user = undefined;
  sessionStorage.removeItem(REFRESH_KEY);
  clearTimeout(refreshTimer);
}

function storedRefreshToken(): string | null {
  return sessionStorage.getItem(REFRESH_KEY);
}
