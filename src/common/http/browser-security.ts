import fastifyCookie from '@fastify/cookie';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../../config/app-config.js';

type CspDirectives = Record<string, string[]>;
/** `@fastify/cors` options, as the adapter takes them (the package comes with the adapter). */
type CorsOptions = NonNullable<Parameters<NestFastifyApplication['enableCors']>[0]>;

const SELF = "'self'";
const NONE = "'none'";

/**
 * The CSP of every response but the Swagger UI: the hosted pages are static HTML with
 * same-origin scripts, stylesheets (Bootstrap from /vendor) and fetch() calls, and nothing
 * inline. `data:` images are Bootstrap's form-control icons.
 */
export function defaultCspDirectives(config: AppConfig): CspDirectives {
  return {
    'default-src': [SELF],
    'base-uri': [SELF],
    'connect-src': [SELF],
    'font-src': [SELF],
    'form-action': [SELF],
    'frame-ancestors': [NONE],
    'img-src': [SELF, 'data:'],
    'object-src': [NONE],
    'script-src': [SELF],
    'script-src-attr': [NONE],
    'style-src': [SELF],
    // Over plain http (development) an upgrade would break every subresource.
    ...(config.publicUrl.startsWith('https:') ? { 'upgrade-insecure-requests': [] } : {}),
  };
}

/**
 * What Swagger UI at /docs needs on top: the page @nestjs/swagger serves has inline
 * `<style>` blocks and a `style` attribute. Its scripts are files (`swagger-ui-init.js`
 * included), so scripts stay as strict as elsewhere.
 */
export function docsCspDirectives(config: AppConfig): CspDirectives {
  return { ...defaultCspDirectives(config), 'style-src': [SELF, "'unsafe-inline'"] };
}

function helmetOptions(directives: CspDirectives): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  };
}

type Headers = Readonly<Record<string, string>>;

/**
 * The headers helmet sets with these options, worked out once. They depend on nothing in
 * the request (no CSP nonce, no directive computed per request), so every response can get
 * the same set; `@fastify/helmet` instead built a new helmet middleware for every request.
 */
function helmetHeaders(options: HelmetOptions): Headers {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader() {}, // X-Powered-By, which Fastify never sends
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    if (error) throw new Error('helmet refused its options', { cause: error });
  });
  return Object.freeze(headers);
}

const isDocsRoute = (route: string | undefined) =>
  route !== undefined && (route === '/docs' || route.startsWith('/docs/'));
const isApiPath = (url: string) => /^\/api(\/|\?|$)/i.test(url);

/**
 * Browser-facing protections, registered before any route:
 *
 * - cookies (`@fastify/cookie`), used by the refresh-token cookie transport;
 * - security headers (helmet's, worked out once) on every response, errors and 404s included:
 *   CSP, HSTS, `X-Frame-Options: DENY`, `nosniff`, `Referrer-Policy: no-referrer`...;
 *   Swagger UI's routes get the docs CSP;
 * - `Cache-Control: no-store` and `Pragma: no-cache` on every /api response: tokens,
 *   accounts and sessions must not stay in a browser or proxy cache;
 * - CORS only for the exact origins of `CORS_ORIGINS`, with credentials; other origins
 *   get no CORS header at all.
 */
export async function configureBrowserSecurity(
  app: NestFastifyApplication,
  config: AppConfig,
): Promise<void> {
  await app.register(fastifyCookie);
  const fastify = app.getHttpAdapter().getInstance();
  const headers = helmetHeaders(helmetOptions(defaultCspDirectives(config)));
  const apiHeaders: Headers = { ...headers, 'cache-control': 'no-store', pragma: 'no-cache' };
  // Swagger UI's routes (matched before onRequest hooks run) get the docs CSP.
  const docsHeaders = helmetHeaders(helmetOptions(docsCspDirectives(config)));
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(
      isApiPath(request.url)
        ? apiHeaders
        : isDocsRoute(request.routeOptions.url)
          ? docsHeaders
          : headers,
    );
    done();
  });
  if (config.corsOrigins.length) app.enableCors(corsOptions(config.corsOrigins));
}

function corsOptions(origins: readonly string[]): CorsOptions {
  const allowed = new Set(origins);
  return {
    // A function, not the list: with a list, @fastify/cors still sends
    // Access-Control-Allow-Credentials and answers preflights for any origin.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-XSRF-TOKEN', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
    // Any OPTIONS request from an allowed origin is answered as a preflight, rather than
    // with a text/plain 400.
    strictPreflight: false,
  };
}
