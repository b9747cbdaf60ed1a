import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each page is served at `/<name>` from `<name>.html` (built by `npm run build:pages`). */
export const PAGE_NAMES = [
  'login',
  'register',
  'forgot-password',
  'reset-password',
  'verify-email',
  'account',
  'admin',
] as const;

/** `dist/public`: this module is `dist/src/pages/hosted-pages.js`. */
const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/** Bootstrap's compiled CSS and JS, straight from the installed (locked) npm package. */
function bootstrapDist(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('bootstrap/package.json')), 'dist');
}

/** `@simplewebauthn/browser`'s ES modules (its `import` entry's directory), for the passkey pages. */
function simpleWebauthnEsm(): string {
  return dirname(fileURLToPath(import.meta.resolve('@simplewebauthn/browser')));
}

/**
 * Pages and assets carry no version in their names, so browsers keep them but revalidate
 * them (ETag / Last-Modified) on every use: an upgrade shows at once.
 */
function revalidate(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-cache');
}

/**
 * Serves the hosted pages (HTML, their compiled scripts and CSS under `/assets/`, Bootstrap
 * under `/vendor/bootstrap/`, `@simplewebauthn/browser` under `/vendor/simplewebauthn/`) with plain Fastify routes: they are not API operations, so
 * they stay out of the OpenAPI document and out of the access-token guard (each page's
 * script calls the API with the token itself). Only these exact paths are added, so nothing
 * shadows `/api`, `/docs`, `/health`, `/metrics` or `/.well-known`; a missing asset is the
 * usual 404 problem document.
 */
export async function mountHostedPages(app: NestFastifyApplication): Promise<void> {
  if (!existsSync(join(PUBLIC_DIR, 'login.html'))) {
    throw new Error(
      `HOSTED_PAGES is on but the pages are not built (${PUBLIC_DIR} has no login.html): run \`npm run build\`, or set HOSTED_PAGES=false`,
    );
  }
  const common = {
    index: false,
    list: false,
    redirect: false,
    dotfiles: 'deny',
    cacheControl: false,
    setHeaders: revalidate,
    // Files only: a directory is "not found" (404), as with any unknown path.
    allowedPath: (path: string) => !path.endsWith('/'),
  } as const;
  await app.register(fastifyStatic, {
    ...common,
    root: join(PUBLIC_DIR, 'assets'),
    prefix: '/assets/',
  });
  await app.register(fastifyStatic, {
    ...common,
    root: bootstrapDist(),
    prefix: '/vendor/bootstrap/',
    decorateReply: false,
  });
  await app.register(fastifyStatic, {
    ...common,
    root: simpleWebauthnEsm(),
    prefix: '/vendor/simplewebauthn/',
    decorateReply: false,
    // Its modules only (no typings, no source maps).
    allowedPath: (path: string) => path.endsWith('.js'),
  });

  const fastify = app.getHttpAdapter().getInstance();
  for (const name of PAGE_NAMES) {
    fastify.get(`/${name}`, (_request, reply) => {
      revalidate(reply);
      return reply.sendFile(`${name}.html`, PUBLIC_DIR, { cacheControl: false });
    });
  }
  // The landing page of links such as the "password changed" email's `{APP_URL}`.
  fastify.get('/', (_request, reply) => reply.redirect('/login', 302));
}
