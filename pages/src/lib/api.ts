// The one place that talks HTTP: same-origin fetch() to /api, JSON in and out, and every
// failure turned into an ApiError that carries the problem document.
import type { Problem } from './types.js';

/** An API answer other than 2xx (or no answer at all: `status` 0, code `NETWORK`). */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly problem: Problem,
    /** Seconds, from a 429's `Retry-After`. */
    readonly retryAfter?: number,
  ) {
    super(problem.detail);
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }
}

export interface SendOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  /** Access token for `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
}

/** Cookie transport's CSRF pair: readable cookie, echoed in a header (Angular's names). */
export const XSRF_COOKIE = 'XSRF-TOKEN';
const XSRF_HEADER = 'X-XSRF-TOKEN';

/**
 * One request to the API. Resolves with the parsed JSON body (undefined for 204); rejects
 * with an ApiError. Cookies go along (same origin only) and every request that changes
 * something echoes the `XSRF-TOKEN` cookie, as Angular's HttpClient does: that is what
 * cookie transport needs, and nothing happens in body transport, where there is no cookie.
 */
export async function send<T>(path: string, options: SendOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const xsrf = method === 'GET' ? undefined : readCookie(XSRF_COOKIE);
  if (xsrf) headers[XSRF_HEADER] = xsrf;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(
      problem(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.'),
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = parse(text);
  if (response.ok) return json as T;
  throw new ApiError(
    isProblem(json)
      ? json
      : problem(
          response.status,
          'HTTP_' + response.status,
          `The server answered ${response.status}.`,
        ),
    retryAfterSeconds(response.headers.get('retry-after')),
  );
}

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).code === 'string' &&
    typeof (value as Problem).detail === 'string' &&
    typeof (value as Problem).status === 'number'
  );
}

function problem(status: number, code: string, detail: string): Problem {
  return { type: 'about:blank', title: 'Error', status, code, detail };
}

function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function readCookie(name: string): string | undefined {
  for (const pair of document.cookie.split(';')) {
    const index = pair.indexOf('=');
    if (index > 0 && pair.slice(0, index).trim() === name) {
      return decodeURIComponent(pair.slice(index + 1).trim());
    }
  }
  return undefined;
}
