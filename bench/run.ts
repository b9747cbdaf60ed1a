/**
 * `npm run bench`: builds nothing itself (the npm script builds first), then in one run
 * measures the limits of this machine (raw argon2 verifies, bare Fastify + pg) and the
 * service against them, and writes the table to bench/results/ as JSON and Markdown.
 *
 *   npm run bench                      # against DATABASE_URL (a fresh database is created on that server)
 *   npm run bench -- --pglite          # against the embedded PGlite database instead
 *   npm run bench -- --smoke           # a few seconds per scenario, few users: keeps the script working in CI
 *   npm run bench -- --duration 20 --users 1000000
 *
 * The server runs with its benchmark configuration: rate limits off (they would turn load
 * into 429s), warn-level logs. Every other security check stays on.
 */
import autocannon, { type Result } from 'autocannon';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};

const smoke = flag('smoke');
const usePglite = flag('pglite') || !process.env.DATABASE_URL;
const duration = option('duration', smoke ? 2 : 10);
const seedUsers = option('users', smoke ? 2_000 : 1_000_000);
const loginUsers = smoke ? 20 : 200;
const appPort = option('port', 3900);
const baselinePort = appPort + 1;
const embeddedPort = appPort + 2;
const poolSize = 10;
const threadPool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const password = 'benchmark passphrase 4711';

interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  p97_5: number;
  errors: number;
  rssMb: number | null;
  baseline?: string;
  ratio?: number;
  target?: string;
  pass?: boolean;
}

const rows: Row[] = [];
const children: ChildProcess[] = [];
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const database = await createDatabase();
  try {
    const app = await startApp(database.url);
    const idleRss = rssMb(app.pid);
    const dbUrl =
      database.url ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres?sslmode=disable`;
    const api = `http://127.0.0.1:${appPort}`;

    log(`seeding ${loginUsers} users through the API`);
    const users = await registerUsers(api, loginUsers);
    const sessions = await Promise.all(users.map((email) => login(api, email)));
    const adminToken = (await login(api, 'bench-admin@example.com')).access_token;

    log('baselines: raw argon2 verifies, bare Fastify + pg');
    const argon10 = await argon2Baseline(10);
    const argon50 = await argon2Baseline(50);
    const baseline = await startBaseline(dbUrl);
    const userId = sessions[0].user.id;
    const bare = await cannon({
      url: `http://127.0.0.1:${baselinePort}/users/${userId}`,
      connections: 50,
    });
    record('baseline: bare Fastify + pg PK select, c=50', bare, null);
    rows.push({
      scenario: `baseline: argon2id verifies/s (pool ${threadPool}, 10 in flight)`,
      rps: argon10,
      p50: 0,
      p99: 0,
      p97_5: 0,
      errors: 0,
      rssMb: null,
    });
    baseline.kill('SIGTERM');

    log('scenarios');
    const bearer = { authorization: `Bearer ${sessions[0].access_token}` };
    const meIdle = await cannon({ url: `${api}/api/auth/me`, connections: 1, headers: bearer });
    const me50 = await cannon({ url: `${api}/api/auth/me`, connections: 50, headers: bearer });
    const login10 = await loginStorm(api, users, 10);
    const login50 = await loginStorm(api, users, 50);
    const [storm, meDuringStorm] = await Promise.all([
      loginStorm(api, users, 10),
      cannon({ url: `${api}/api/auth/me`, connections: 1, headers: bearer }),
    ]);
    void storm;
    const refresh = await refreshStorm(
      api,
      sessions.slice(1).map((s) => s.refresh_token),
    );
    const register = await registerStorm(api);
    const forgotKnown = await forgotStorm(api, users);
    const forgotUnknown = await forgotStorm(
      api,
      users.map((_, i) => `nobody-${i}@example.com`),
    );

    record(
      'GET /api/auth/me, c=50',
      me50,
      app.pid,
      'bare Fastify + pg',
      me50.requests.average / bare.requests.average,
      '≥ 0.50',
    );
    record('GET /api/auth/me, c=1 (idle)', meIdle, app.pid);
    record(
      'GET /api/auth/me, c=1, during a c=10 login storm',
      meDuringStorm,
      app.pid,
      'p99 vs idle c=1 p99',
      meDuringStorm.latency.p99 / Math.max(meIdle.latency.p99, 1),
      '≤ 5',
      'atMost',
    );
    record(
      'POST /api/auth/login, c=10',
      login10,
      app.pid,
      'argon2 verifies/s',
      login10.requests.average / argon10,
      '≥ 0.90',
    );
    record(
      'POST /api/auth/login, c=50',
      login50,
      app.pid,
      'argon2 verifies/s',
      login50.requests.average / argon50,
      '≥ 0.90',
    );
    record(
      'POST /api/auth/refresh (rotating), c=50',
      refresh,
      app.pid,
      'bare Fastify + pg',
      refresh.requests.average / bare.requests.average,
      '≥ 0.20',
    );
    record('POST /api/auth/register, c=10', register, app.pid);
    record('POST /api/recovery/forgot-password, known emails, c=10', forgotKnown, app.pid);
    // Enumeration resistance: unknown emails take the same path, so the same time.
    record(
      'POST /api/recovery/forgot-password, unknown emails, c=10',
      forgotUnknown,
      app.pid,
      'p50 vs known emails',
      forgotUnknown.latency.p50 / Math.max(forgotKnown.latency.p50, 1),
      '0.80–1.25',
      'between',
    );

    await seedMany(dbUrl, seedUsers);
    const list = await cannon({
      url: `${api}/api/users?page=1&limit=20`,
      connections: 10,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const filter = await cannon({
      url: `${api}/api/users?role=USER&active=true&sort=email&order=asc&page=3`,
      connections: 10,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const search = await cannon({
      url: `${api}/api/users?search=user12345`,
      connections: 10,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    for (const [name, result] of [
      ['list', list],
      ['filter', filter],
      ['search', search],
    ] as const) {
      record(
        `GET /api/users ${name} (${seedUsers.toLocaleString('en')} users), c=10`,
        result,
        app.pid,
        'p97.5 latency (ms)',
        result.latency.p97_5,
        '≤ 50 ms',
        'atMost',
      );
    }

    const loadedRss = rssMb(app.pid);
    rows.push({
      scenario: 'server RSS idle (MB)',
      rps: 0,
      p50: 0,
      p99: 0,
      p97_5: 0,
      errors: 0,
      rssMb: idleRss,
      ratio: idleRss ?? undefined,
      target: '≤ 120',
      pass: idleRss !== null && idleRss <= 120,
    });
    rows.push({
      scenario: 'server RSS after load (MB)',
      rps: 0,
      p50: 0,
      p99: 0,
      p97_5: 0,
      errors: 0,
      rssMb: loadedRss,
    });
    rows.push({
      scenario: 'start to first 200 on /health/ready (ms)',
      rps: 0,
      p50: 0,
      p99: 0,
      p97_5: 0,
      errors: 0,
      rssMb: null,
      ratio: app.startMs,
      target: '≤ 2000',
      pass: app.startMs <= 2000,
    });
    app.process.kill('SIGTERM');
    write();
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await database.drop();
  }
}

function record(
  scenario: string,
  result: Result,
  pid: number | null | undefined,
  baseline?: string,
  ratio?: number,
  target?: string,
  compare: 'atLeast' | 'atMost' | 'between' = 'atLeast',
): void {
  const errors = result.errors + result.timeouts + result.non2xx;
  const row: Row = {
    scenario,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p97_5: result.latency.p97_5,
    errors,
    rssMb: pid ? rssMb(pid) : null,
  };
  if (baseline !== undefined && ratio !== undefined && target !== undefined) {
    const [low, high] = (target.match(/[\d.]+/g) ?? []).map(Number);
    const within =
      compare === 'atLeast'
        ? ratio >= low
        : compare === 'atMost'
          ? ratio <= low
          : ratio >= low && ratio <= high;
    Object.assign(row, { baseline, ratio, target, pass: errors === 0 && within });
  }
  rows.push(row);
  log(
    `${scenario}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, errors ${errors}`,
  );
}

function cannon(options: autocannon.Options): Promise<Result> {
  return autocannon({ duration, ...options });
}

function loginStorm(api: string, emails: string[], connections: number): Promise<Result> {
  let next = 0;
  return cannon({
    url: `${api}/api/auth/login`,
    connections,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: emails[next++ % emails.length], password }),
        }),
      },
    ],
  });
}

/** Each in-flight request takes a token from the pool and puts its successor back. */
function refreshStorm(api: string, tokens: string[]): Promise<Result> {
  const pool = [...tokens];
  return cannon({
    url: `${api}/api/auth/refresh`,
    connections: Math.min(50, pool.length),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ refresh_token: pool.shift() }),
        }),
        onResponse: (status, body) => {
          if (status === 200)
            pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
        },
      },
    ],
  });
}

function forgotStorm(api: string, emails: string[]): Promise<Result> {
  let next = 0;
  return cannon({
    url: `${api}/api/recovery/forgot-password`,
    connections: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: emails[next++ % emails.length] }),
        }),
      },
    ],
  });
}

function registerStorm(api: string): Promise<Result> {
  let next = 0;
  const run = Date.now().toString(36);
  return cannon({
    url: `${api}/api/auth/register`,
    connections: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: `reg-${run}-${next++}@example.com`, password }),
        }),
      },
    ],
  });
}

interface Login {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

async function registerUsers(api: string, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, i) => `bench-${i}@example.com`);
  for (let i = 0; i < emails.length; i += 10) {
    await Promise.all(
      emails.slice(i, i + 10).map((email) =>
        fetch(`${api}/api/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        }),
      ),
    );
  }
  return emails;
}

async function login(api: string, email: string): Promise<Login> {
  const response = await fetch(`${api}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200)
    throw new Error(`login ${email}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Login;
}

async function argon2Baseline(concurrency: number): Promise<number> {
  const child = spawn(
    process.execPath,
    [join(here, 'argon2-baseline.js'), String(duration), String(concurrency)],
    {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threadPool) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((done) => child.once('exit', done));
  return (JSON.parse(output) as { perSecond: number }).perSecond;
}

async function startBaseline(url: string): Promise<ChildProcess> {
  const child = fork(join(here, 'baseline-server.js'), [], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      PORT: String(baselinePort),
      POOL_SIZE: String(poolSize),
    },
  });
  children.push(child);
  await new Promise<void>((ready, fail) => {
    child.once('message', () => ready());
    child.once('exit', (code) => fail(new Error(`baseline server exited with ${code}`)));
  });
  return child;
}

async function startApp(
  databaseUrl: string | undefined,
): Promise<{ process: ChildProcess; pid: number; startMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'authkit-bench-'));
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(appPort),
      DATA_DIR: dataDir,
      ...(databaseUrl
        ? { DATABASE_URL: databaseUrl }
        : { DATABASE_URL: '', PGLITE_PORT: String(embeddedPort) }),
      DATABASE_POOL_SIZE: String(poolSize),
      UV_THREADPOOL_SIZE: String(threadPool),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_ENABLED: 'false',
      LOGIN_BACKOFF_ENABLED: 'false',
      ADMIN_EMAIL: 'bench-admin@example.com',
      ADMIN_PASSWORD: password,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${appPort}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((wait) => setTimeout(wait, 20));
  }
  const startMs = Date.now() - started;
  await new Promise((wait) => setTimeout(wait, 2_000));
  return { process: child, pid: child.pid!, startMs };
}

/** Bulk users for the list/search scenarios: the seed script of `npm run seed:users`. */
async function seedMany(url: string, count: number): Promise<void> {
  log(`seeding ${count.toLocaleString('en')} users for list/search`);
  const child = spawn(
    process.execPath,
    [join(root, 'dist', 'src', 'cli', 'seed-users.js'), String(count)],
    {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`seed-users exited with ${code}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('ANALYZE users');
  await client.end();
}

async function createDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (usePglite) return { url: undefined, drop: () => Promise.resolve() };
  const adminUrl = process.env.DATABASE_URL!;
  const name = `authkit_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (flag('keep')) return;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

function rssMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

function write(): void {
  const meta = {
    date: new Date().toISOString(),
    database: usePglite ? 'PGlite (embedded)' : 'PostgreSQL',
    durationSeconds: duration,
    seededUsers: seedUsers,
    node: process.version,
    cpus: cpus().length,
    smoke,
  };
  const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '' : n.toFixed(digits));
  const markdown = [
    `Benchmark ${meta.date} — ${meta.database}, ${meta.cpus} cores, Node ${meta.node}, ${duration} s per scenario${smoke ? ' (smoke run)' : ''}`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | errors | RSS MB | compared with | ratio | target | met |',
    '|---|---:|---:|---:|---:|---:|---|---:|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.scenario} | ${row.rps ? fmt(row.rps) : ''} | ${row.rps ? row.p50 : ''} | ${row.rps ? row.p99 : ''} | ${row.rps ? row.errors : ''} | ${row.rssMb ?? ''} | ${row.baseline ?? ''} | ${fmt(row.ratio, 2)} | ${row.target ?? ''} | ${row.pass === undefined ? '' : row.pass ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stem = smoke ? 'smoke' : 'latest';
  writeFileSync(join(dir, `${stem}.json`), JSON.stringify({ meta, rows }, null, 2) + '\n');
  writeFileSync(join(dir, `${stem}.md`), markdown + '\n');
  process.stdout.write(markdown + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
