// The committed openapi.json is a product: what the decorators generate (CI fails when it is
// stale), what the running server serves, clean under Spectral, and complete enough to
// generate a client from (operation ids, summaries, tags, schemas, examples, problems).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, cleanup, ROOT, startServer } from './support/server.js';

const run = promisify(execFile);
const COMMITTED = join(ROOT, 'openapi.json');
const STALE = 'openapi.json is stale: run `npm run openapi` and commit the result';
const dirs: string[] = [];

afterAll(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const doc = JSON.parse(readFileSync(COMMITTED, 'utf8'));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const operations: { method: string; path: string; op: any }[] = Object.entries(doc.paths).flatMap(
  ([path, item]: [string, any]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
);

/** The first line where two texts differ, for a readable failure. */
function firstDifference(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  const i = al.findIndex((line, n) => line !== bl[n]);
  const at = i === -1 ? al.length : i;
  return `line ${at + 1}:\n  committed: ${bl[at] ?? '(end)'}\n  generated: ${al[at] ?? '(end)'}`;
}

describe('openapi.json', () => {
  it('is what `npm run openapi` generates from the current decorators', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authkit-openapi-'));
    dirs.push(dir);
    const out = join(dir, 'openapi.json');
    await run(process.execPath, [join(ROOT, 'dist/src/cli/openapi.js'), out], {
      cwd: ROOT,
      env: childEnv({}),
    });
    const generated = readFileSync(out, 'utf8');
    const committed = readFileSync(COMMITTED, 'utf8');
    if (generated !== committed) {
      expect.fail(`${STALE}\nfirst difference at ${firstDifference(generated, committed)}`);
    }
  }, 60_000);

  it('is what a running server serves at /docs-json', async () => {
    const server = await startServer({ env: { PUBLIC_URL: 'https://auth.example.com' } });
    const res = await server.api.get('/docs-json');
    expect(res.status).toBe(200);
    expect(res.body, STALE).toEqual(doc);
  }, 90_000);

  it('passes Spectral (spectral:oas and .spectral.yaml) with zero errors and zero warnings', async () => {
    // The npm script CI and developers run, with machine-readable output.
    const result = await run(
      'npm',
      ['run', '--silent', 'lint:openapi', '--', '--format=json', '--quiet'],
      { cwd: ROOT, env: childEnv({}) },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout || e.stderr,
      }),
    );
    const findings =
      result.stdout.trim().startsWith('[') && result.stdout.trim() !== '[]'
        ? (JSON.parse(result.stdout) as { code: string; message: string; path: string[] }[]).map(
            (f) => `${f.code}: ${f.message} at ${f.path.join('.')}`,
          )
        : [];
    expect(findings).toEqual([]);
    expect(result.code, result.stdout).toBe(0);
  }, 120_000);

  it('documents every route of the contract (API.md)', () => {
    const expected = [
      'post /api/auth/register',
      'post /api/auth/login',
      'post /api/auth/refresh',
      'post /api/auth/logout',
      'get /api/auth/me',
      'post /api/auth/change-password',
      'get /api/auth/sessions',
      'delete /api/auth/sessions/{id}',
      'post /api/auth/verify-email',
      'post /api/auth/resend-verification',
      'post /api/recovery/forgot-password',
      'post /api/recovery/verify-otp',
      'post /api/recovery/reset-password',
      'get /api/users/me',
      'patch /api/users/me',
      'delete /api/users/me',
      'get /api/users',
      'post /api/users',
      'get /api/users/{id}',
      'patch /api/users/{id}',
      'delete /api/users/{id}',
      'get /api/audit-events',
      'get /health/live',
      'get /health/ready',
      'get /.well-known/jwks.json',
    ];
    const documented = operations.map((o) => `${o.method} ${o.path}`);
    expect(expected.filter((route) => !documented.includes(route))).toEqual([]);
  });

  it('gives every operation a unique operationId, a summary, a description and described tags', () => {
    const tags = new Map<string, string | undefined>(
      doc.tags.map((t: any) => [t.name, t.description]),
    );
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { method, path, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.operationId) problems.push(`${where}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${where}: duplicate ${op.operationId}`);
      ids.add(op.operationId);
      if (!op.summary) problems.push(`${where}: no summary`);
      if (!op.description) problems.push(`${where}: no description`);
      if (!op.tags?.length) problems.push(`${where}: no tag`);
      for (const tag of op.tags ?? []) {
        if (!tags.get(tag)) problems.push(`${where}: tag ${tag} is not described at the top level`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('declares the bearer and refresh-cookie security schemes, contact, licence and servers', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(doc.components.securitySchemes.refresh_token).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'refresh_token',
    });
    expect(doc.info.contact?.name).toBeTruthy();
    expect(doc.info.license).toMatchObject({ name: 'MIT' });
    // Relative: Swagger UI calls the origin it was loaded from, whatever host name reached it.
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    // Every authenticated operation names the bearer scheme, so generated clients send it.
    const bearerless = operations
      .filter(
        ({ op }) => op.responses['401'] && !JSON.stringify(op.security ?? []).includes('bearer'),
      )
      // Login, its second step and the passkey sign-in answer 401 to bad credentials, an
      // expired mfa_token or a passkey that does not verify.
      .filter(
        ({ op }) =>
          !['login', 'refresh', 'verifyMfa', 'mfaWebauthnOptions', 'loginWithPasskey'].includes(
            op.operationId,
          ),
      )
      .map(({ method, path }) => `${method} ${path}`);
    expect(bearerless).toEqual([]);
  });

  it('has an example for every field of every request and response body and every parameter', () => {
    const missing = new Set<string>();
    const seen = new Set<string>();
    const visit = (schema: any, where: string): void => {
      if (!schema) return;
      if (schema.$ref) {
        const name = String(schema.$ref).split('/').pop()!;
        if (seen.has(name)) return;
        seen.add(name);
        visit(doc.components.schemas[name], name);
        return;
      }
      for (const part of [
        ...(schema.allOf ?? []),
        ...(schema.oneOf ?? []),
        ...(schema.anyOf ?? []),
      ]) {
        visit(part, where);
      }
      if (schema.items) visit(schema.items, `${where}[]`);
      for (const [name, prop] of Object.entries<any>(schema.properties ?? {})) {
        const composite = prop.$ref || prop.allOf || prop.items?.$ref;
        if (composite) visit(prop, `${where}.${name}`);
        else if (prop.example === undefined && !prop.enum) missing.add(`${where}.${name}`);
      }
    };
    for (const { method, path, op } of operations) {
      for (const media of Object.values<any>(op.requestBody?.content ?? {}))
        visit(media.schema, '');
      for (const response of Object.values<any>(op.responses)) {
        for (const media of Object.values<any>(response.content ?? {})) {
          if (media.example === undefined && media.examples === undefined) visit(media.schema, '');
        }
      }
      for (const p of op.parameters ?? []) {
        const s = p.schema ?? {};
        if (
          p.example === undefined &&
          s.example === undefined &&
          s.default === undefined &&
          !s.enum
        ) {
          missing.add(`${method.toUpperCase()} ${path} parameter ${p.name}`);
        }
      }
    }
    expect([...missing].sort()).toEqual([]);
  });
});
