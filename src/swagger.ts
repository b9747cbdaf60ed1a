import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { REFRESH_COOKIE } from './auth/refresh-transport.js';

/**
 * Descriptions of the operation tags, in the order Swagger UI shows them. A tag used by an
 * operation but missing here is listed last without a description, which `npm run
 * lint:openapi` (.spectral.yaml) refuses: describe it here.
 */
export const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  auth: 'Registration, login, token refresh, logout, the current user, password change, sessions and email verification.',
  mfa: 'Second factors: TOTP authenticators and recovery codes, and the second step of a login.',
  passkeys:
    'Passkeys (WebAuthn): register, list, rename and remove them, and sign in with one and no password.',
  recovery:
    'Forgotten passwords: one email holds a link and a 6-digit code; either one leads to a new password.',
  users: 'Self-service profile under `/api/users/me`, and user administration (role `ADMIN`).',
  audit: 'The trail of security events: logins, password changes, admin actions (role `ADMIN`).',
  keys: 'The public keys that verify access tokens (JWKS, RFC 7517), for resource servers.',
  health: 'Liveness and readiness probes for orchestrators and load balancers.',
};

const METHOD_ORDER = ['get', 'put', 'post', 'patch', 'delete', 'options', 'head', 'trace'];
const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * The OpenAPI document, generated from the controllers' and DTOs' decorators. Keys are put
 * in a stable order (paths, schemas and status codes sorted), so that the committed document
 * changes only where the API does. The server URL is relative (`/`): Swagger UI then calls
 * the origin it was loaded from (whatever host name reached it, within `connect-src 'self'`),
 * and generated clients take their base URL from their configuration.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('authkit')
    .setDescription(
      [
        'Registration, login, rotating refresh tokens, sessions, account recovery and user administration.',
        '',
        'Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.',
        'Access tokens are ES256 JWTs (`typ: at+jwt`); their public keys are at `/.well-known/jwks.json`.',
        '`401` always means "no valid access token": refresh or log in again.',
        "Every response carries an `X-Request-Id` header (the caller's when it is a UUID).",
        'When `MFA_POLICY` requires a second factor of the caller, every authenticated operation but `GET /api/auth/me`, logout and TOTP enrolment answers `403 MFA_ENROLMENT_REQUIRED` until one is confirmed.',
        'Any operation may answer `431 HEADERS_TOO_LARGE` (headers and request line over 16 KiB), `400 VALIDATION_FAILED` to a request that is not valid HTTP/1.1 or to a body nested deeper than 32 levels, and `408 REQUEST_TIMEOUT` to a client too slow to send its headers.',
        '',
        'Refresh tokens travel in JSON bodies by default. With `REFRESH_TOKEN_TRANSPORT=cookie` they travel only in the HttpOnly `refresh_token` cookie (`Path=/api/auth`, `SameSite=Strict`), and refresh and logout by cookie must echo the readable `XSRF-TOKEN` cookie in an `X-XSRF-TOKEN` header (`403 FORBIDDEN` otherwise).',
      ].join('\n'),
    )
    .setVersion('1.0.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This server: the origin this document is served from')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'The `access_token` of a login or refresh response.',
    })
    .addCookieAuth(
      REFRESH_COOKIE,
      {
        type: 'apiKey',
        description:
          'Cookie transport only (`REFRESH_TOKEN_TRANSPORT=cookie`): the refresh token, set by login and refresh (HttpOnly). Requests it authenticates must also send `X-XSRF-TOKEN` equal to the `XSRF-TOKEN` cookie.',
      },
      REFRESH_COOKIE,
    )
    .build();
  // DocumentBuilder wants a URL and an email for a contact; we have neither to promise.
  config.info.contact = { name: 'authkit maintainers' };
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
  return normalizeDocument(document);
}

/**
 * Swagger UI at /docs and the document at /docs-json and /docs-yaml. The document is built
 * on the first request for it (and kept), not at start-up: scanning every controller and
 * DTO takes time and memory that an instance whose docs nobody opens need not spend.
 */
export function mountSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    swaggerOptions: { persistAuthorization: false },
  });
}

/**
 * Adds what holds for every operation (the `X-Request-Id` response header, `Retry-After` on
 * 429 and 503), declares the tags, and sorts keys.
 */
function normalizeDocument(document: OpenAPIObject): OpenAPIObject {
  const components = document.components ?? {};
  components.headers = {
    ...components.headers,
    [REQUEST_ID_HEADER]: {
      description:
        "The request's id: the incoming `X-Request-Id` when it is a UUID, else a new one.",
      schema: { type: 'string', format: 'uuid', example: 'b6c1e7a2-4a0b-4a53-9c55-6f2f1d0b7c11' },
    },
  };

  const used = new Set<string>();
  const paths: OpenAPIObject['paths'] = {};
  for (const path of Object.keys(document.paths).sort()) {
    const item = document.paths[path] as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort(byMethodOrder)) {
      const value = item[key];
      if (METHOD_ORDER.includes(key) && value && typeof value === 'object') {
        const operation = value as {
          tags?: string[];
          responses?: Record<string, { headers?: Record<string, unknown> }>;
        };
        operation.tags?.forEach((tag) => used.add(tag));
        operation.responses = sortResponses(operation.responses ?? {});
      }
      sorted[key] = value;
    }
    paths[path] = sorted;
  }

  if (retryAfterUsed(paths)) {
    components.headers['Retry-After'] = {
      description: 'Seconds to wait before trying again.',
      schema: { type: 'integer', minimum: 1, example: 60 },
    };
  }

  const known = Object.keys(TAG_DESCRIPTIONS).filter((tag) => used.has(tag));
  const unknown = [...used].filter((tag) => !(tag in TAG_DESCRIPTIONS)).sort();
  return {
    ...document,
    tags: [
      ...known.map((name) => ({ name, description: TAG_DESCRIPTIONS[name] })),
      ...unknown.map((name) => ({ name })),
    ],
    paths,
    components: sortEach(components),
  };
}

/** Rate limits (429) and a full hashing queue (503) say when to come back. */
const RETRY_AFTER_STATUSES = ['429', '503'];

function sortResponses(
  responses: Record<string, { headers?: Record<string, unknown> }>,
): Record<string, { headers?: Record<string, unknown> }> {
  const out: Record<string, { headers?: Record<string, unknown> }> = {};
  for (const status of Object.keys(responses).sort()) {
    const response = responses[status];
    response.headers = {
      [REQUEST_ID_HEADER]: { $ref: `#/components/headers/${REQUEST_ID_HEADER}` },
      ...(RETRY_AFTER_STATUSES.includes(status)
        ? { 'Retry-After': { $ref: '#/components/headers/Retry-After' } }
        : {}),
      ...response.headers,
    };
    out[status] = response;
  }
  return out;
}

function retryAfterUsed(paths: OpenAPIObject['paths']): boolean {
  return Object.values(paths).some((item) =>
    Object.values(item as Record<string, { responses?: object }>).some(
      (operation) =>
        typeof operation === 'object' &&
        operation?.responses &&
        RETRY_AFTER_STATUSES.some((status) => status in operation.responses!),
    ),
  );
}

/** Sorts the keys of each map in `components` (schemas, security schemes, headers...). */
function sortEach<T extends object>(components: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(components).sort()) {
    const map = (components as Record<string, unknown>)[key];
    out[key] =
      map && typeof map === 'object'
        ? Object.fromEntries(
            Object.entries(map as Record<string, unknown>).sort(([a], [b]) => compare(a, b)),
          )
        : map;
  }
  return out as T;
}

function byMethodOrder(a: string, b: string): number {
  const ia = METHOD_ORDER.indexOf(a);
  const ib = METHOD_ORDER.indexOf(b);
  if (ia === -1 && ib === -1) return compare(a, b);
  if (ia === -1) return -1; // `parameters`, `summary`... before the operations
  if (ib === -1) return 1;
  return ia - ib;
}

/** Code-point order, independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
