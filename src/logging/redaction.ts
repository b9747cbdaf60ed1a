/**
 * Log redaction. Every object logged (the merge object of a log call and the bindings of
 * child loggers) is copied with the value of any secret-looking key replaced by
 * "[Redacted]", at any depth up to `MAX_DEPTH`; strings everywhere lose JWTs and
 * `Bearer`/`Basic` credentials; errors keep only their type, message, stack and code, so
 * the enumerable extras some errors carry (a driver's query parameters, an HTTP client's
 * request body, a validation error's value) never reach a log line.
 *
 * The `req` and `res` serializers (logging.module.ts) keep only the request id, method,
 * path without query string and status code, so headers, cookies and bodies are never
 * logged at all; their output is redacted all the same.
 */

export const REDACTED = '[Redacted]';

/** Keys whose values are secret wherever they appear (compared without case, `_` or `-`). */
const SECRET_KEYS = new Set([
  'code',
  'otp',
  'pin',
  'cookie',
  'cookies',
  'setcookie',
  'authorization',
  'proxyauthorization',
  'databaseurl',
  'redisurl',
  'smtpurl',
  'dsn',
  // Second factors: the otpauth URL and its QR code hold the TOTP secret.
  'otpauthurl',
  'qrsvg',
]);

/** A key containing one of these is secret too: `newPassword`, `refresh_token`, `x-xsrf-token`... */
const SECRET_KEY_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'credential',
  'recoverycode',
];

/** Keys whose serializers already reduce them to safe fields. */
const SERIALIZED_KEYS = new Set(['req', 'res', 'err']);

const MAX_DEPTH = 8;
const MAX_NODES = 2_000;

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEYS.has(normalized) || SECRET_KEY_PARTS.some((part) => normalized.includes(part));
}

/** JWTs (three base64url segments starting with a JSON header) and HTTP credentials. */
const JWT = /\beyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const HTTP_CREDENTIALS = /\b(Bearer|Basic)\s+[\w\-.~+/=]+/gi;

/** Removes token-shaped substrings from free text (log messages, error messages). */
export function scrubText(text: string): string {
  return text.replace(JWT, REDACTED).replace(HTTP_CREDENTIALS, `$1 ${REDACTED}`);
}

/** A V8 JSON.parse message quotes the start of its input: a request body, for instance. */
const JSON_SNIPPET = /"[\s\S]*" is not valid JSON/g;

function scrubErrorText(text: string): string {
  return scrubText(text.replace(JSON_SNIPPET, `${REDACTED} is not valid JSON`));
}

interface SafeError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  statusCode?: number;
}

/**
 * The loggable part of an error (an `Error`, or pino's serialization of one, which has
 * `type` and copies every enumerable property): type, message and stack (secrets
 * scrubbed) and a short `code`/`statusCode`. Nothing else.
 */
export function safeError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const source = error as Record<string, unknown>;
  if (typeof source.message !== 'string' && typeof source.stack !== 'string') return error;
  const type =
    typeof source.type === 'string'
      ? source.type
      : error instanceof Error
        ? error.constructor.name
        : 'Error';
  const out: SafeError = {
    type,
    message: scrubErrorText(typeof source.message === 'string' ? source.message : ''),
  };
  if (typeof source.stack === 'string') out.stack = scrubErrorText(source.stack);
  const code = source.code;
  if ((typeof code === 'string' && code.length <= 64) || typeof code === 'number') out.code = code;
  const status = source.statusCode ?? source.status;
  if (typeof status === 'number') out.statusCode = status;
  return out;
}

/**
 * A redacted copy of a log call's merge object or a child logger's bindings. `req`, `res`
 * and `err` are left to their serializers, which pino runs afterwards (and which redact
 * their own output with `redactSerialized`).
 */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const budget = { nodes: 0 };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    out[key] = SERIALIZED_KEYS.has(key) ? value : redactValue(key, value, 1, budget, new Set());
  }
  return out;
}

/** A redacted copy of a serializer's output, so a field added to it later cannot leak. */
export function redactSerialized<T extends Record<string, unknown>>(value: T): T {
  return redactValue('', value, 1, { nodes: 0 }, new Set()) as T;
}

function redactValue(
  key: string,
  value: unknown,
  depth: number,
  budget: { nodes: number },
  ancestors: Set<object>,
): unknown {
  if (value === null || value === undefined) return value;
  if (isSecretKey(key)) return REDACTED;
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object') return value;
  if (value instanceof Error) return safeError(value);
  if (value instanceof Date) return value;
  // Raw bytes (token hashes, sealed tokens...) say nothing useful in a log.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return REDACTED;
  budget.nodes += 1;
  if (depth > MAX_DEPTH || budget.nodes > MAX_NODES) return '[Truncated]';
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item) => redactValue(key, item, depth + 1, budget, ancestors));
    }
    if (value instanceof Map) {
      return Object.fromEntries(
        [...value].map(([k, v]) => [
          String(k),
          redactValue(String(k), v, depth + 1, budget, ancestors),
        ]),
      );
    }
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(value)) {
      out[childKey] = redactValue(childKey, child, depth + 1, budget, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
