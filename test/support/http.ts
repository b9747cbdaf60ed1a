export interface RequestOptions {
  /** Serialized as JSON with `Content-Type: application/json` (unless `contentType` is given). */
  body?: unknown;
  /** Sent verbatim; pair it with `contentType`. */
  rawBody?: string | Uint8Array;
  contentType?: string;
  /** Access token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON for `application/json` and `application/problem+json`, else the text. */
  body: T;
  text: string;
}

export interface RecordedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string;
  text: string;
}

export class Api {
  /** Every response this client received, so a file can scan them all for leaks at the end. */
  readonly history: RecordedResponse[] = [];

  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    let payload: string | Uint8Array | undefined;
    if (opts.rawBody !== undefined) {
      payload = opts.rawBody;
      if (opts.contentType) headers['content-type'] = opts.contentType;
    } else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    Object.assign(headers, opts.headers);

    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: payload,
      redirect: 'manual',
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let body: any = text;
    if (/\bjson\b/i.test(contentType) && text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(
          `${method} ${path}: invalid JSON with content-type ${contentType}: ${text}`,
        );
      }
    }
    this.history.push({ method, path, status: res.status, contentType, text });
    return { status: res.status, headers: res.headers, body: body as T, text };
  }

  get<T = any>(path: string, opts?: RequestOptions) {
    return this.request<T>('GET', path, opts);
  }

  post<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('POST', path, { ...opts, body });
  }

  patch<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('PATCH', path, { ...opts, body });
  }

  put<T = any>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('PUT', path, { ...opts, body });
  }

  delete<T = any>(path: string, opts?: RequestOptions) {
    return this.request<T>('DELETE', path, opts);
  }
}

/** Fields of a problem document; `errors` only on validation failures. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: { field: string; message: string }[];
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A short description of a response, for assertion messages. */
export function describeResponse(res: ApiResponse): string {
  return `${res.status} ${res.headers.get('content-type') ?? ''} ${res.text.slice(0, 500)}`;
}

/**
 * Fails unless `res` is a problem document with the given status (and code, when given),
 * carrying every RFC 9457 member the contract requires.
 */
export function expectProblem(res: ApiResponse, status: number, code?: string): Problem {
  const where = describeResponse(res);
  if (res.status !== status) throw new Error(`expected status ${status}, got ${where}`);
  const ct = res.headers.get('content-type') ?? '';
  if (!ct.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${where}`);
  }
  const p = res.body as Problem;
  if (typeof p !== 'object' || p === null) throw new Error(`expected a JSON object, got ${where}`);
  const missing = ['type', 'title', 'detail', 'code', 'requestId'].filter(
    (k) => typeof (p as unknown as Record<string, unknown>)[k] !== 'string',
  );
  if (missing.length > 0 || p.status !== status) {
    throw new Error(`problem document lacks ${missing.join(', ') || 'status'}: ${where}`);
  }
  if (code !== undefined && p.code !== code) {
    throw new Error(`expected code ${code}, got ${where}`);
  }
  return p;
}

/** Patterns that must never appear in a response: hashes, column names, stack traces. */
export const LEAK_PATTERNS: RegExp[] = [
  /password_?hash/i,
  /\$argon2/,
  /token_hash/i,
  /\bat [\w.<>]+ \(.*:\d+:\d+\)/, // V8 stack frame
  /node_modules\//,
  /\/dist\/src\//,
  /QueryFailedError|TypeORMError|duplicate key value|violates (unique|foreign key)/i,
];

/**
 * The patterns that name what the API documents on purpose: the OpenAPI document describes
 * the import's `passwordHash` field, with example hashes (docs/migration.md). It is built
 * from decorators and holds no account's data; it is still scanned for the other patterns.
 */
const CONTRACT_WORDS: RegExp[] = [LEAK_PATTERNS[0], LEAK_PATTERNS[1]];
const isOpenApiDocument = (path: string) => /^\/docs-(json|yaml)(\?|$)/.test(path);

/** Every recorded response whose body matches a leak pattern, for one `expect(...).toEqual([])`. */
export function findLeaks(api: Api): string[] {
  const leaks: string[] = [];
  for (const r of api.history) {
    for (const re of LEAK_PATTERNS) {
      if (isOpenApiDocument(r.path) && CONTRACT_WORDS.includes(re)) continue;
      if (re.test(r.text)) leaks.push(`${r.method} ${r.path} ${r.status} matches ${re}: ${r.text}`);
    }
  }
  return leaks;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Decodes the payload (or header, part 0) of a JWT without verifying it. */
export function decodeJwtPart(token: string, part: 0 | 1 = 1): Record<string, any> {
  const segment = token.split('.')[part];
  if (segment === undefined) throw new Error(`not a JWT: ${token}`);
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}
