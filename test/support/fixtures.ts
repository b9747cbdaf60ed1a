import { randomBytes } from 'node:crypto';
import { type Api, describeResponse } from './http.js';

let counter = 0;

function suffix(): string {
  counter += 1;
  return `${Date.now().toString(36)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A lower-case email no other test (or test run) uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${suffix()}@example.com`;
}

/** A valid username (3–32 of a-z 0-9 _ . -) no other test uses. */
export function uniqueUsername(prefix = 'u'): string {
  return `${prefix}_${suffix()}`.slice(0, 32);
}

/** Long, random, not in any breach list, and unrelated to the email or username. */
export function strongPassword(): string {
  return `correct-horse-${randomBytes(6).toString('hex')}`;
}

export interface RegisterInput {
  email?: string;
  password?: string;
  username?: string;
  firstName?: string;
  lastName?: string;
}

export interface LoggedInUser {
  user: any;
  accessToken: string;
  refreshToken: string;
  email: string;
  password: string;
}

/** Registers a new user (201 expected) and returns it with the fields sent. */
export async function register(api: Api, overrides: RegisterInput = {}) {
  const input = { email: uniqueEmail(), password: strongPassword(), ...overrides };
  const res = await api.post('/api/auth/register', input);
  if (res.status !== 201) throw new Error(`register failed: ${describeResponse(res)}`);
  return { user: res.body.user, email: input.email, password: input.password };
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: any;
}

/** Logs in by email (200 expected); `headers` lets a test set a User-Agent per session. */
export async function login(
  api: Api,
  email: string,
  password: string,
  headers?: Record<string, string>,
): Promise<Tokens> {
  const res = await api.post('/api/auth/login', { email, password }, { headers });
  if (res.status !== 200) throw new Error(`login failed: ${describeResponse(res)}`);
  return {
    accessToken: res.body.access_token,
    refreshToken: res.body.refresh_token,
    user: res.body.user,
  };
}

export async function registerAndLogin(
  api: Api,
  overrides: RegisterInput = {},
): Promise<LoggedInUser> {
  const { email, password } = await register(api, overrides);
  const tokens = await login(api, email, password);
  return { ...tokens, email, password };
}
