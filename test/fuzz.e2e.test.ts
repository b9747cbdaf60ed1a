// Fuzzing every operation of the running server's OpenAPI document (issue 13, "the
// classes"): nulls, wrong types, lone surrogates, control characters, deep nesting, huge
// strings and arrays, numbers as strings, duplicate keys, `__proto__` / `constructor`,
// bad path and query parameters and over-long headers, without a token and with a user's
// and an admin's. Every answer must be below 500; every error a problem document with a
// `code` and an `X-Request-Id`; no answer slower than 2 s. The operations come from
// `/docs-json`, so a new route is fuzzed by itself.
//
// Deterministic: FUZZ_SEED (default 13) seeds every choice; a failure prints the request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, registerAndLogin } from './support/fixtures.js';
import { UUID_RE } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const SEED = Number(process.env.FUZZ_SEED ?? 13);
/** The one timing bound of the issue, per request (a slow one is measured again alone). */
const SLOW_MS = 2_000;
const CONCURRENCY = 2;
const ADMIN_EMAIL = 'fuzz-admin@example.com';
const ADMIN_PASSWORD = 'fuzz-bootstrap-passphrase';
/** Share of the cases also sent with the other credentials (all of them go with the main one). */
const SHARE_OTHER_AUTH = 0.1;

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(random() * 4)];
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: Schema;
  secured: boolean;
}
interface OpenApi {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = new Set(['get', 'put', 'post', 'patch', 'delete']);

function operationsOf(doc: OpenApi): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const op = raw as {
        parameters?: Parameter[];
        security?: unknown[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
      };
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: (op.security?.length ?? 0) > 0,
      });
    }
  }
  return ops;
}

/** `schema` with `$ref` followed and `allOf` merged; `oneOf`/`anyOf` take their first. */
function resolve(doc: OpenApi, schema: Schema | undefined, seen = 0): Schema {
  if (!schema || seen > 16) return {};
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return resolve(doc, doc.components?.schemas?.[name], seen + 1);
  }
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => resolve(doc, s, seen + 1));
    return {
      ...schema,
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})) as Record<
        string,
        Schema
      >,
      required: parts.flatMap((p) => p.required ?? []),
    };
  }
  const alternative = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  return alternative ? resolve(doc, alternative, seen + 1) : schema;
}

/** A plausible value for `schema`, so that one field at a time can be spoilt. */
function sample(doc: OpenApi, raw: Schema | undefined, random: () => number): unknown {
  const schema = resolve(doc, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  switch (schema.type ?? 'string') {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([k, s]) => [k, sample(doc, s, random)]),
      );
    case 'array':
      return [sample(doc, schema.items, random)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      if (schema.format === 'uuid') return seededUuid(random);
      if (schema.format === 'email') return 'fuzz@example.com';
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
  }
}

// ---------------------------------------------------------------------------------------
// Hostile values

const nestedArrays = (depth: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
};

/** Strings no field should choke on: surrogates, controls, invisible and huge ones. */
const EDGE_STRINGS: [string, string][] = [
  ['lone high surrogate', 'a\ud800b'],
  ['lone low surrogate', '\udfff'],
  ['surrogate in an address', 'x\ud800@example.com'],
  ['NUL', 'a\u0000b'],
  ['CR LF', 'a\r\nb@example.com'],
  ['C0, DEL and C1', '\u0001\u0007\u001b[31m\u007f\u0085\u009b'],
  ['bidi override', '\u202egnp.exe'],
  ['zero-width', 'a\u200b\u200d\ufeff@example.com'],
  ['empty', ''],
  ['blank', ' \t\u00a0\u3000'],
  ['astral, markup and SQL', "😀'; DROP TABLE users; -- <script>"],
  ['huge', 'a'.repeat(60_000)],
  ['padded address', `${' '.repeat(400)}fuzz@example.com`],
];

/** Values of the wrong type for a field declared as `type`. */
function wrongTypes(type: string | undefined): [string, unknown][] {
  const all: [string, unknown][] = [
    ['a number', 12345],
    ['a float', 1e308],
    ['a negative number', -1],
    ['true', true],
    ['an object', { $gt: '' }],
    ['an array', ['x']],
    ['a number as a string', '12'],
    ['a boolean as a string', 'true'],
  ];
  const keep: Record<string, string[]> = {
    string: ['a number', 'a float', 'true', 'an object', 'an array'],
    integer: ['a float', 'a number as a string', 'true', 'an object', 'an array'],
    number: ['a number as a string', 'true', 'an object', 'an array'],
    boolean: ['a boolean as a string', 'a number', 'an object', 'an array'],
    array: ['a number', 'a number as a string', 'an object'],
    object: ['a number', 'a number as a string', 'an array', 'true'],
  };
  const names = keep[type ?? ''] ?? keep.string;
  return all.filter(([name]) => names.includes(name));
}

/** What each field of a body gets, the other fields keeping plausible values. */
function fieldValues(schema: Schema): [string, unknown][] {
  return [
    ['null', null],
    ...wrongTypes(schema.type),
    ...(schema.type === 'string' || schema.type === undefined || schema.enum ? EDGE_STRINGS : []),
    ['a huge array', Array.from({ length: 8_000 }, () => 'x')],
    ['40 nested arrays', nestedArrays(40)],
    ['an object with __proto__', JSON.parse('{"__proto__":{"admin":true}}')],
  ];
}

/** The values also sent beside the required fields only. */
const MINIMAL_BASE_VALUES = [
  'null',
  'a number',
  'an object',
  'empty',
  'lone high surrogate',
  'surrogate in an address',
  'padded address',
];

/** Values only worth sending as path parameters (UUID look-alikes, dot segments). */
const PATH_ONLY = ['nil UUID', 'upper-case UUID', 'dot segments', 'not a UUID'];

/** Query and path values (percent-encoded already). */
const EDGE_PARAMS: [string, string][] = [
  ['empty', ''],
  ['not a UUID', 'not-a-uuid'],
  ['NUL', '%00'],
  ['lone surrogate (CESU bytes)', '%ED%A0%80'],
  ['broken percent-encoding', '%E0%A4%A'],
  ['CR LF', 'a%0D%0Ab'],
  ['bidi override', '%E2%80%AE'],
  ['huge', 'a'.repeat(8_000)],
  ['negative', '-1'],
  ['float', '1.5'],
  ['huge number', '1'.repeat(40)],
  ['exponent', '1e309'],
  ['null', 'null'],
  ['json', '%7B%22%24gt%22%3A%22%22%7D'],
  ['nil UUID', '00000000-0000-0000-0000-000000000000'],
  ['upper-case UUID', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'],
  ['dot segments', '..%2F..%2Fetc%2Fpasswd'],
];

// ---------------------------------------------------------------------------------------
// Requests

type Auth = 'none' | 'user' | 'admin';
interface FuzzCase {
  label: string;
  method: string;
  path: string;
  auth: Auth;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** The status this case must get, when it is certain (431 for over-long headers). */
  expectStatus?: number;
}
interface Outcome {
  status: number;
  contentType: string;
  requestId: string | null;
  text: string;
  ms: number;
  error?: string;
}

function describeCase(c: FuzzCase): string {
  const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}...(${s.length} chars)` : s);
  const headers = Object.entries(c.headers)
    .map(([k, v]) => `${k}: ${cut(k === 'authorization' ? v.replace(/\..*/, '.<jwt>') : v, 80)}`)
    .join('; ');
  return `[seed ${SEED}] ${c.auth} ${c.label}: ${c.method} ${cut(c.path, 200)} {${headers}} ${
    c.body === undefined
      ? ''
      : typeof c.body === 'string'
        ? cut(JSON.stringify(c.body).slice(1, -1))
        : `bytes ${Buffer.from(c.body).toString('hex').slice(0, 200)}`
  }`;
}

/** Each case of one operation, with a plausible body and parameters except for one thing. */
function casesOf(doc: OpenApi, op: Operation, random: () => number): FuzzCase[] {
  const cases: Omit<FuzzCase, 'auth'>[] = [];
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const goodPath = (overrides: Record<string, string> = {}) =>
    op.path.replace(/\{(\w+)\}/g, (_m, name: string) => overrides[name] ?? seededUuid(random));
  const goodBody = op.body ? (sample(doc, op.body, random) as Record<string, unknown>) : undefined;
  const json = { 'content-type': 'application/json' };
  const base = (label: string, extra: Partial<FuzzCase> = {}) =>
    cases.push({
      label,
      method: op.method,
      path: goodPath(),
      headers: goodBody ? json : {},
      body: goodBody ? JSON.stringify(goodBody) : undefined,
      ...extra,
    });

  base('plausible request');
  if (op.body) {
    const schema = resolve(doc, op.body);
    for (const [field, raw] of Object.entries(schema.properties ?? {})) {
      for (const [what, value] of fieldValues(resolve(doc, raw))) {
        base(`${field} = ${what}`, { body: JSON.stringify({ ...goodBody, [field]: value }) });
      }
      // The same field spoilt with only the required fields beside it (an optional field
      // alone, as a client that sends one of two alternatives would).
      if (!schema.required?.includes(field)) {
        const required = Object.fromEntries(
          Object.entries(goodBody ?? {}).filter(([k]) => schema.required?.includes(k)),
        );
        for (const [what, value] of fieldValues(resolve(doc, raw)).filter(([w]) =>
          MINIMAL_BASE_VALUES.includes(w),
        )) {
          base(`only required fields, ${field} = ${what}`, {
            body: JSON.stringify({ ...required, [field]: value }),
          });
        }
      }
      // Duplicate keys: the raw text carries the field twice, the second time spoilt.
      const text = JSON.stringify(goodBody);
      const dup = `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"${field}":null,"${field}":{"x":[1]}}`;
      base(`duplicate ${field}`, { body: dup });
    }
    const rawBodies: [string, string][] = [
      ['null body', 'null'],
      ['array body', '[]'],
      ['string body', '"x"'],
      ['number body', '1'],
      ['empty object', '{}'],
      ['10 KB of [[[[', '['.repeat(5_000) + ']'.repeat(5_000)],
      ['{"a":{"a":... 3000 deep', '{"a":'.repeat(2_999) + '{}' + '}'.repeat(2_999)],
      ['__proto__ key', `{"__proto__":{"role":"ADMIN"},${JSON.stringify(goodBody).slice(1)}`],
      ['constructor.prototype', '{"constructor":{"prototype":{"role":"ADMIN"}}}'],
      ['constructor key', `{"constructor":"x",${JSON.stringify(goodBody).slice(1)}`],
      ['unknown key', `{"isAdmin":true,${JSON.stringify(goodBody).slice(1)}`],
      ['malformed JSON', '{"a":'],
      ['trailing garbage', `${JSON.stringify(goodBody)}xyz`],
      ['lone surrogate escape as a key', '{"\\ud800":1}'],
      ['a huge array body', JSON.stringify(Array.from({ length: 10_000 }, () => 1))],
      ['a body over 64 KiB', JSON.stringify({ ...goodBody, pad: 'x'.repeat(70_000) })],
    ];
    for (const [label, body] of rawBodies) base(label, { body: body.replace(/,}$/, '}') });
    base('text/plain body', { headers: { 'content-type': 'text/plain' }, body: 'x' });
    base('UTF-16 charset', { headers: { 'content-type': 'application/json; charset=utf-16' } });
    base('invalid UTF-8 bytes', {
      body: Buffer.concat([
        Buffer.from('{"email":"'),
        Buffer.from([0xff, 0xfe, 0xc0]),
        Buffer.from('"}'),
      ]),
    });
  } else if (op.method !== 'GET') {
    base('an unexpected JSON body', {
      headers: json,
      body: '{"a":'.repeat(500) + '1' + '}'.repeat(500),
    });
  }
  for (const param of pathParams) {
    for (const [what, value] of EDGE_PARAMS) {
      if (value === '') continue; // an empty segment is another route
      base(`path ${param.name} = ${what}`, { path: goodPath({ [param.name]: value }) });
    }
    base(`path ${param.name} over 100 characters`, {
      path: goodPath({ [param.name]: 'x'.repeat(150) }),
    });
  }
  const withQuery = (query: string) => `${goodPath()}?${query}`;
  for (const param of queryParams) {
    for (const [what, value] of EDGE_PARAMS.filter(([w]) => !PATH_ONLY.includes(w))) {
      base(`query ${param.name} = ${what}`, { path: withQuery(`${param.name}=${value}`) });
    }
    base(`query ${param.name} repeated`, { path: withQuery(`${param.name}=1&${param.name}=2`) });
    base(`query ${param.name} repeated 500 times`, {
      path: withQuery(Array.from({ length: 500 }, () => `${param.name}=1`).join('&')),
    });
    base(`query ${param.name} nested`, { path: withQuery(`${param.name}[a][b][c]=1`) });
  }
  base('query __proto__ and constructor', {
    path: withQuery('__proto__[admin]=1&constructor[prototype][admin]=1&__proto__=x'),
  });
  base('unknown query parameter', { path: withQuery('zzz=1') });
  // Headers: over Node's 16 KiB (431), and large or odd ones under it.
  base('a header over 16 KiB', { headers: { 'x-fuzz': 'a'.repeat(17_000) }, expectStatus: 431 });
  base('a request line over 16 KiB', {
    path: withQuery(`zzz=${'a'.repeat(17_000)}`),
    expectStatus: 431,
  });
  base('a huge X-Request-Id', { headers: { 'x-request-id': 'a'.repeat(8_000) } });
  base('a huge refresh cookie', { headers: { cookie: `refresh_token=${'a'.repeat(8_000)}` } });
  base('a garbage cookie header', { headers: { cookie: 'refresh_token=%ZZ; =; ;;; a' } });
  base('an X-XSRF-TOKEN with a huge value', { headers: { 'x-xsrf-token': 'a'.repeat(8_000) } });

  // Every case with the main credentials; a deterministic share with the others.
  const main: Auth = op.secured ? 'admin' : 'none';
  const others: Auth[] = op.secured ? ['user', 'none'] : ['user'];
  const all: FuzzCase[] = [];
  for (const c of cases) {
    all.push({ ...c, auth: main });
    for (const auth of others) if (random() < SHARE_OTHER_AUTH) all.push({ ...c, auth });
  }
  // Credentials themselves: malformed, huge, unsigned (where the operation takes them).
  for (const authorization of !op.secured
    ? []
    : [
        'Bearer',
        'Bearer ',
        'Basic YTpi',
        'Bearer a.b.c',
        `Bearer ${'a'.repeat(8_000)}`,
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      ]) {
    all.push({
      label: `authorization ${authorization.slice(0, 40)}`,
      method: op.method,
      path: goodPath(),
      auth: 'none',
      headers: { ...(goodBody ? json : {}), authorization },
      body: goodBody ? JSON.stringify(goodBody) : undefined,
    });
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// Running

let server: TestServer;
let doc: OpenApi;
const tokens: Record<Exclude<Auth, 'none'>, string> = { user: '', admin: '' };
let userCredentials: { email: string; password: string };
let relogins = 0;

async function relogin(auth: Exclude<Auth, 'none'>): Promise<void> {
  if (++relogins > 40) throw new Error('more than 40 re-logins: something revokes every session');
  const creds =
    auth === 'admin' ? { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } : userCredentials;
  tokens[auth] = (await login(server.api, creds.email, creds.password)).accessToken;
}

/** Whether the access token of `auth` still opens a session (a 401 may be about something else). */
async function stillValid(auth: Exclude<Auth, 'none'>): Promise<boolean> {
  const res = await server.api.get('/api/auth/me', { token: tokens[auth] });
  return res.status === 200;
}

async function send(c: FuzzCase): Promise<Outcome> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.auth !== 'none') headers.authorization = `Bearer ${tokens[c.auth]}`;
  const started = performance.now();
  try {
    const res = await fetch(new URL(c.path, server.url), {
      method: c.method,
      headers,
      body: c.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      requestId: res.headers.get('x-request-id'),
      text,
      ms: performance.now() - started,
    };
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return {
      status: 0,
      contentType: '',
      requestId: null,
      text: '',
      ms: performance.now() - started,
      error: `${String(error)}${cause instanceof Error ? ` (${cause.message})` : ''}`,
    };
  }
}

/** What is wrong with one answer, or nothing. */
function problemsOf(c: FuzzCase, o: Outcome): string[] {
  if (o.error) return [`no answer: ${o.error}`];
  const found: string[] = [];
  if (o.status >= 500) found.push(`status ${o.status}`);
  if (c.expectStatus !== undefined && o.status !== c.expectStatus) {
    found.push(`status ${o.status}, expected ${c.expectStatus}`);
  }
  if (!o.requestId || !UUID_RE.test(o.requestId)) found.push('no X-Request-Id');
  if (o.status >= 400) {
    if (!o.contentType.startsWith('application/problem+json')) {
      found.push(`content-type ${o.contentType || 'none'}`);
    } else {
      try {
        const p = JSON.parse(o.text) as { code?: unknown; status?: unknown; requestId?: unknown };
        if (typeof p.code !== 'string' || !/^[A-Z_]+$/.test(p.code)) found.push('no code');
        if (p.status !== o.status) found.push(`body status ${String(p.status)}`);
        if (p.requestId !== o.requestId) found.push('requestId differs from X-Request-Id');
      } catch {
        found.push('body is not JSON');
      }
    }
  }
  return found;
}

function report(c: FuzzCase, o: Outcome, problems: string[]): string {
  return `${problems.join(', ')} (${Math.round(o.ms)} ms) <- ${describeCase(c)} -> ${o.status} ${
    o.contentType
  } ${o.text.slice(0, 300)}`;
}

/** Sends every case (CONCURRENCY at a time) and returns the failures, described. */
async function run(cases: FuzzCase[]): Promise<string[]> {
  const failures: string[] = [];
  const slow: FuzzCase[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      let o = await send(c);
      // A session ended by an earlier case (a logout): log in again, send once more.
      if (o.status === 401 && c.auth !== 'none' && !(await stillValid(c.auth))) {
        await relogin(c.auth);
        o = await send(c);
      }
      const problems = problemsOf(c, o);
      if (problems.length) failures.push(report(c, o, problems));
      else if (o.ms > SLOW_MS) slow.push(c);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // Measured again alone, so that only a request slow by itself fails, not one that waited
  // behind its neighbours on a loaded machine.
  for (const c of slow) {
    const o = await send(c);
    if (o.ms > SLOW_MS) failures.push(report(c, o, [`slower than ${SLOW_MS} ms twice`]));
  }
  return failures;
}

beforeAll(async () => {
  server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  const res = await fetch(new URL('/docs-json', server.url));
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApi;
  const user = await registerAndLogin(server.api);
  userCredentials = { email: user.email, password: user.password };
  tokens.user = user.accessToken;
  await relogin('admin');
  relogins = 0;
});
afterAll(cleanup);

describe(`fuzzing every operation of /docs-json (FUZZ_SEED=${SEED})`, () => {
  it('finds the operations, and the usual ones among them', () => {
    const ops = operationsOf(doc).map((o) => `${o.method} ${o.path}`);
    expect(ops.length).toBeGreaterThanOrEqual(20);
    expect(ops).toEqual(
      expect.arrayContaining(['POST /api/auth/login', 'GET /api/users', 'PATCH /api/users/{id}']),
    );
  });

  it('no 5xx, every error a problem document with a code and X-Request-Id, none slower than 2 s', async () => {
    const random = prng(SEED);
    const failures: string[] = [];
    let sent = 0;
    for (const op of operationsOf(doc)) {
      const cases = casesOf(doc, op, random);
      sent += cases.length;
      const started = performance.now();
      failures.push(...(await run(cases)));
      if (process.env.FUZZ_STATS) {
        process.stderr.write(
          `${op.method} ${op.path}: ${cases.length} requests in ${Math.round(performance.now() - started)} ms\n`,
        );
      }
    }
    // Every operation got its cases; the total stays bounded so the file runs in seconds.
    expect(sent).toBeGreaterThan(500);
    expect(sent).toBeLessThan(6_000);
    expect(
      failures,
      `${failures.length} of ${sent} requests failed:\n${failures.join('\n')}`,
    ).toEqual([]);
    expect(server.logs.filter((l) => /Maximum call stack/.test(l))).toEqual([]);
  }, 240_000);
});
