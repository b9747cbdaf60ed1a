import fastifyCookie from '@fastify/cookie';
import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from 'helmet';
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

function helmetOptions(directives: CspDirectives): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  };
}

/**
 * The security headers of a response no route configuration applies to, as name → value:
 * helmet's headers with the default CSP, computed once. They are put on every response
 * before anything else runs (see `createApp`), so that the ones answered before
 * @fastify/helmet's hook (a CORS preflight, a URL the router refuses) or without Fastify at
 * all (a request Node's HTTP parser refuses) carry them too; helmet's own hook then sets
 * each route's (the docs CSP under /docs).
 */
export function baselineSecurityHeaders(config: AppConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  // The same options as @fastify/helmet gets; it bundles its own copy of helmet's types.
  const options = helmetOptions(defaultCspDirectives(config)) as Parameters<typeof helmet>[0];
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error instanceof Error ? error : new Error('helmet failed');
    },
  );
  return headers;
}

const isDocsPath = (url: string) => url === '/docs' || url.startsWith('/docs/');
const isApiPath = (url: string) => /^\/api(\/|\?|$)/i.test(url);

/**
 * Browser-facing protections, registered before any route:
 *
 * - cookies (`@fastify/cookie`), used by the refresh-token cookie transport;
 * - security headers (`@fastify/helmet`) on every response, errors and 404s included:
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
  await app.register(fastifyHelmet, helmetOptions(defaultCspDirectives(config)));
  // Runs after helmet's own onRoute hook, so it sets the resolved per-route configuration.
  const docsHelmet = helmetOptions(docsCspDirectives(config));
  fastify.addHook('onRoute', (route) => {
    if (isDocsPath(route.url)) route.config = { ...route.config, helmet: docsHelmet };
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (isApiPath(request.url)) {
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    }
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
