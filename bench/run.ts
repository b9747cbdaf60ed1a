/**
 * `npm run bench`: the npm script builds first; then, in one run, this measures the limits
 * of this machine (raw argon2 verifies, bare Fastify + pg) and the service against them,
 * and writes the table to bench/results/ as JSON and Markdown.
 *
 *   npm run bench                      # against DATABASE_URL (a fresh database is created on that server)
 *   npm run bench -- --pglite          # against the embedded PGlite database instead
 *   npm run bench -- --smoke           # 0.3 s per scenario, few users: keeps the script working (CI)
 *   npm run bench -- --duration 20 --users 1000000
 *   npm run bench -- --server /path/to/other/dist/src/main.js --out before   # another build
 *
 * The server runs with its benchmark configuration: rate limits and the login backoff off
 * (they would turn a benchmark's load, all from one IP and a few accounts, into 429s) and
 * warn-level logs (no line per request). Every other security check stays on.
 *
 * Exits with 1 when any scenario saw an error, a timeout or a non-2xx answer (after
 * writing the results), so a smoke run in CI fails on a broken scenario; timings are
 * never asserted.
 */
import autocannon, { type Client, type Result } from 'autocannon';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const numberOption = (name: string, fallback: number) => Number(option(name) ?? fallback);

const smoke = flag('smoke');
const usePglite = flag('pglite') || !process.env.DATABASE_URL;
const duration = numberOption('duration', smoke ? 0.3 : 10);
/**
 * Unmeasured load before a measured run (seconds), so that it measures the optimized code
 * of a server that has been running, not V8 still compiling the route's functions.
 */
const warmup = smoke ? 0 : 5;
const seedUsers = numberOption('users', smoke ? 2_000 : 1_000_000);
const loginUsers = smoke ? 20 : 200;
/**
 * How long the fresh server is left alone before its idle RSS is read (see README): V8's
 * memory reducer gives back what start-up allocated some 20-35 s after the last activity.
 */
const idleSeconds = smoke ? 0.5 : 45;
/** Pause after a start before the RSS is read. */
const settleMs = smoke ? 200 : 2_000;
/** Free ports unless --port is given (then it and the next two), so parallel runs never collide. */
const [appPort, baselinePort, embeddedPort] = option('port')
  ? [0, 1, 2].map((i) => numberOption('port', 0) + i)
  : await freePorts(3);
const serverEntry = resolve(option('server') ?? join(root, 'dist', 'src', 'main.js'));
const outStem = option('out') ?? (smoke ? 'smoke' : 'latest');
const poolSize = 10;
const threadPool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const password = 'benchmark passphrase 4711';

interface Row {
  scenario: string;
  rps?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  errors?: number;
  rssMb?: number | null;
  /** What `ratio` compares with, and the target it must meet. */
  baseline?: string;
  ratio?: number;
  target?: string;
  pass?: boolean;
}

/** A measured run: autocannon's counts, percentiles of every answer's latency, RSS at its end. */
interface Run {
  result: Result;
  rps: number;
  errors: number;
  latency: Latencies;
  rssMb: number | null;
}

interface Latencies {
  p50: number;
  p95: number;
  p99: number;
}

const rows: Row[] = [];
const children: ChildProcess[] = [];
/** The server whose RSS each run reports (none while the baselines run). */
let serverPid: number | null = null;
const began = Date.now();
const log = (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);

async function main(): Promise<void> {
  if (usePglite && !flag('pglite')) {
    log('no DATABASE_URL: running on the embedded PGlite; set DATABASE_URL for PostgreSQL figures');
  }
  const loadAtStart = loadavg()[0];
  if (loadAtStart >= 1) {
    log(
      `warning: 1-minute load average is ${loadAtStart.toFixed(2)}; figures from a busy machine mean little`,
    );
  }
  const database = await createDatabase();
  const failures: string[] = [];
  try {
    const dbUrl =
      database.url ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres?sslmode=disable`;
    const api = `http://127.0.0.1:${appPort}`;

    log(`starting ${serverEntry} on a fresh database`);
    let app = await startApp(database.url);
    await sleep(settleMs);
    const freshRss = rssMb(app.pid);

    log(`baselines: raw argon2 verifies (pool ${threadPool}), while the server stays idle`);
    const idleSince = Date.now() - settleMs;
    const argon10 = await argon2Baseline(10);
    const argon50 = await argon2Baseline(50);
    await sleep(Math.max(0, idleSeconds * 1000 - (Date.now() - idleSince)));
    const idleRss = rssMb(app.pid);

    log(`registering and logging in ${loginUsers} users through the API`);
    const users = await registerUsers(api, loginUsers);
    const sessions = await Promise.all(users.map((email) => login(api, email)));
    const adminToken = (await login(api, 'bench-admin@example.com')).access_token;
    // Their verification emails are delivered now, not during the first scenarios.
    await outboxDrained(dbUrl);

    log('baseline: bare Fastify + pg');
    serverPid = null;
    const baseline = await startBaseline(dbUrl);
    const bareUrl = `http://127.0.0.1:${baselinePort}/users/${sessions[0].user.id}`;
    const bare = await measure({ url: bareUrl, connections: 50 });
    await stop(baseline);
    rows.push(
      row('baseline: bare Fastify + pg primary-key select, c=50', bare),
      {
        scenario: `baseline: argon2id verifies/s, 10 in flight (libuv pool ${threadPool})`,
        rps: argon10,
      },
      {
        scenario: `baseline: argon2id verifies/s, 50 in flight (libuv pool ${threadPool})`,
        rps: argon50,
      },
    );

    log('scenarios');
    serverPid = app.pid;
    const bearer = { authorization: `Bearer ${sessions[0].access_token}` };
    const me = { url: `${api}/api/auth/me`, headers: bearer };
    const meIdle = await measure({ ...me, connections: 1 });
    const me50 = await measure({ ...me, connections: 50 });
    const login10 = await loginStorm(api, users, 10);
    const login50 = await loginStorm(api, users, 50);
    const [storm, meDuringStorm] = await Promise.all([
      loginStorm(api, users, 10, false),
      // Starts once the storm is under way, and ends before it does.
      sleep(250).then(() => measure({ ...me, connections: 1, duration: duration * 0.9 }, false)),
    ]);
    const refresh = await refreshStorm(
      api,
      sessions.slice(1).map((s) => s.refresh_token),
    );
    const register = await registerStorm(api);
    const forgot = await forgotStorm(api, users);
    // The emails these two queued are still being delivered: not during the next runs.
    await outboxDrained(dbUrl);

    rows.push(
      row('GET /api/auth/me, c=50', me50, {
        baseline: 'bare Fastify + pg req/s',
        ratio: me50.rps / bare.rps,
        target: '≥ 0.50',
        pass: me50.rps / bare.rps >= 0.5,
      }),
      row('GET /api/auth/me, c=1 (idle)', meIdle),
      row('GET /api/auth/me, c=1, during a c=10 login storm', meDuringStorm, {
        baseline: 'p99 / idle c=1 p99',
        ratio: meDuringStorm.latency.p99 / meIdle.latency.p99,
        target: '≤ 5',
        pass: meDuringStorm.latency.p99 / meIdle.latency.p99 <= 5,
      }),
      row('POST /api/auth/login, c=10 (the storm above)', storm),
      row('POST /api/auth/login, c=10', login10, {
        baseline: 'argon2 verifies/s (10)',
        ratio: login10.rps / argon10,
        target: '≥ 0.90',
        pass: login10.rps / argon10 >= 0.9,
      }),
      row('POST /api/auth/login, c=50', login50, {
        baseline: 'argon2 verifies/s (50)',
        ratio: login50.rps / argon50,
        target: '≥ 0.90',
        pass: login50.rps / argon50 >= 0.9,
      }),
      row('POST /api/auth/refresh (rotating), c=50', refresh, {
        baseline: 'bare Fastify + pg req/s',
        ratio: refresh.rps / bare.rps,
        target: '≥ 0.20',
        pass: refresh.rps / bare.rps >= 0.2,
      }),
      row('POST /api/auth/register, c=10', register),
      row('POST /api/recovery/forgot-password, known emails (mixed run, c=10)', forgot.known),
      // Enumeration resistance: in the same run, unknown emails must take as long.
      row('POST /api/recovery/forgot-password, unknown emails (same run)', forgot.unknown, {
        baseline: 'p50 / known p50',
        ratio: forgot.unknown.latency.p50 / forgot.known.latency.p50,
        target: '0.80–1.25',
        pass: within(forgot.unknown.latency.p50 / forgot.known.latency.p50, 0.8, 1.25),
      }),
    );

    await seedMany(dbUrl, seedUsers);
    const admin = { headers: { authorization: `Bearer ${adminToken}` }, connections: 10 };
    const users1M = `${seedUsers.toLocaleString('en')} users`;
    for (const [name, path] of [
      ['list', '/api/users?page=1&limit=20'],
      [
        'filter, sorted by email, page 3',
        '/api/users?role=USER&active=true&sort=email&order=asc&page=3',
      ],
      ['search', '/api/users?search=user12345'],
    ] as const) {
      const run = await measure({ ...admin, url: `${api}${path}` });
      rows.push(
        row(`GET /api/users ${name} (${users1M}), c=10`, run, {
          baseline: 'p95 latency (ms)',
          ratio: run.latency.p95,
          target: '≤ 50 ms',
          pass: run.latency.p95 <= 50,
        }),
      );
    }
    const loadedRss = rssMb(app.pid);

    log('restart on the migrated database');
    await stop(app.process);
    const firstStartMs = app.startMs;
    app = await startApp(database.url, app.dataDir);
    await sleep(settleMs);
    const restartRss = rssMb(app.pid);
    await stop(app.process);

    rows.push(
      { scenario: `server RSS ${settleMs / 1000} s after its first start (MB)`, rssMb: freshRss },
      {
        scenario: `server RSS idle, ${idleSeconds} s after its first start (MB)`,
        rssMb: idleRss,
        baseline: 'MB',
        ratio: idleRss ?? undefined,
        target: '≤ 120',
        pass: idleRss !== null && idleRss <= 120,
      },
      { scenario: 'server RSS after the load above (MB)', rssMb: loadedRss },
      { scenario: `server RSS ${settleMs / 1000} s after a restart (MB)`, rssMb: restartRss },
      {
        scenario: 'start to first 200 on /health/ready, fresh database: migrations, admin (ms)',
        baseline: 'ms',
        ratio: firstStartMs,
        target: '≤ 2000',
        pass: firstStartMs <= 2000,
      },
      {
        scenario: 'start to first 200 on /health/ready, restart (ms)',
        baseline: 'ms',
        ratio: app.startMs,
        target: '≤ 2000',
        pass: app.startMs <= 2000,
      },
    );
    failures.push(...rows.filter((r) => (r.errors ?? 0) > 0).map((r) => r.scenario));
    write(loadAtStart);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await database.drop();
  }
  if (failures.length) {
    log(`errors, timeouts or non-2xx answers in: ${failures.join('; ')}`);
    process.exit(1);
  }
}

function row(
  scenario: string,
  run: Run,
  comparison: Pick<Row, 'baseline' | 'ratio' | 'target' | 'pass'> = {},
): Row {
  const result: Row = {
    scenario,
    rps: run.rps,
    p50: run.latency.p50,
    p95: run.latency.p95,
    p99: run.latency.p99,
    errors: run.errors,
    rssMb: run.rssMb,
    ...comparison,
  };
  // A scenario with failed requests does not meet its target, whatever its figures.
  if (result.pass !== undefined) result.pass = result.pass && run.errors === 0;
  log(
    `${scenario}: ${run.rps.toFixed(0)} req/s, p50 ${run.latency.p50.toFixed(2)} ms, ` +
      `p99 ${run.latency.p99.toFixed(2)} ms, errors ${run.errors}` +
      (comparison.ratio !== undefined ? `, ratio ${comparison.ratio.toFixed(2)}` : ''),
  );
  return result;
}

const within = (value: number, low: number, high: number) => value >= low && value <= high;

/**
 * One autocannon run (after a warm-up unless `warm` is false). Latencies are taken from
 * every answer (autocannon's own percentiles are whole milliseconds), and answers can be
 * told apart by their client's sequence number (`each`).
 */
async function measure(
  options: autocannon.Options,
  warm = true,
  each?: (client: Client, latencyMs: number, status: number) => void,
): Promise<Run> {
  // autocannon checks for the end of a run at each sample: every 100 ms rather than 1 s.
  options = { sampleInt: 100, ...options };
  if (warm && warmup > 0) await autocannon({ ...options, duration: warmup });
  const latencies: number[] = [];
  const result = await new Promise<Result>((done, fail) => {
    const instance = autocannon({ duration, ...options }, (error: unknown, result: Result) =>
      error ? fail(new Error('autocannon failed', { cause: error })) : done(result),
    );
    instance.on('response', (client, status, _bytes, ms) => {
      latencies.push(ms);
      each?.(client, ms, status);
    });
  });
  return {
    result,
    rps: result.requests.total / result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
    latency: percentiles(latencies),
    rssMb: serverPid === null ? null : rssMb(serverPid),
  };
}

function percentiles(values: number[]): Latencies {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function loginStorm(api: string, emails: string[], connections: number, warm = true): Promise<Run> {
  let next = 0;
  return measure(
    {
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
    },
    warm,
  );
}

/** Each in-flight request takes a token from the pool and puts its successor back. */
function refreshStorm(api: string, tokens: string[]): Promise<Run> {
  const pool = [...tokens];
  const successor = /"refresh_token":"([^"]+)"/;
  return measure({
    url: `${api}/api/auth/refresh`,
    connections: Math.min(50, pool.length),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: `{"refresh_token":"${pool.shift()}"}`,
        }),
        onResponse: (status, body) => {
          const token = status === 200 ? successor.exec(body)?.[1] : undefined;
          if (token) pool.push(token);
        },
      },
    ],
  });
}

/**
 * Known and unknown emails alternate on every connection, so both kinds meet the same
 * load in the same run: what an attacker timing the answers would see.
 */
async function forgotStorm(api: string, emails: string[]): Promise<{ known: Run; unknown: Run }> {
  let next = 0;
  const answered = new Map<Client, number>();
  const known: number[] = [];
  const unknown: number[] = [];
  const body = (email: string) => JSON.stringify({ email });
  const run = await measure(
    {
      url: `${api}/api/recovery/forgot-password`,
      connections: 10,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requests: [
        { setupRequest: (request) => ({ ...request, body: body(emails[next++ % emails.length]) }) },
        { setupRequest: (request) => ({ ...request, body: body(`nobody-${next++}@example.com`) }) },
      ],
    },
    true,
    (client, ms) => {
      const count = answered.get(client) ?? 0;
      answered.set(client, count + 1);
      (count % 2 === 0 ? known : unknown).push(ms);
    },
  );
  const half = (latencies: number[]): Run => ({
    ...run,
    rps: latencies.length / run.result.duration,
    latency: percentiles(latencies),
  });
  return { known: half(known), unknown: half(unknown) };
}

function registerStorm(api: string): Promise<Run> {
  let next = 0;
  const run = Date.now().toString(36);
  return measure(
    {
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
    },
    false,
  );
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
      emails.slice(i, i + 10).map(async (email) => {
        const response = await fetch(`${api}/api/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        if (response.status !== 201)
          throw new Error(`register ${email}: ${response.status} ${await response.text()}`);
      }),
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

interface App {
  process: ChildProcess;
  pid: number;
  startMs: number;
  dataDir: string;
}

/** Starts the server as `npm run start:prod` does, and times it to its first ready answer. */
async function startApp(databaseUrl: string | undefined, dataDir?: string): Promise<App> {
  dataDir ??= mkdtempSync(join(tmpdir(), 'authkit-bench-'));
  const started = Date.now();
  const child = spawn(process.execPath, [serverEntry], {
    // Not the checkout: a developer's .env there would override the bench's configuration.
    cwd: dataDir,
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
    if (Date.now() - started > 120_000) throw new Error('server not ready after 120 s');
    const ok = await fetch(`http://127.0.0.1:${appPort}/health/ready`, {
      signal: AbortSignal.timeout(5_000),
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(10);
  }
  return { process: child, pid: child.pid!, startMs: Date.now() - started, dataDir };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

/** Waits until the mail outbox has nothing left to deliver. */
async function outboxDrained(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { rows: counted } = await client.query<{ pending: string }>(
        `SELECT count(*) AS pending FROM mail_outbox WHERE status = 'pending'`,
      );
      const pending = Number(counted[0].pending);
      if (pending === 0) return;
      if (Date.now() > deadline) throw new Error(`${pending} emails still undelivered`);
      log(`waiting for ${pending} queued emails to be delivered`);
      await sleep(smoke ? 100 : 2_000);
    }
  } finally {
    await client.end();
  }
}

/** Bulk users for the list/search scenarios: the seed script of `npm run seed:users`. */
async function seedMany(url: string, count: number): Promise<void> {
  log(`seeding ${count.toLocaleString('en')} users for list/search`);
  const child = spawn(
    process.execPath,
    [join(dirname(serverEntry), 'cli', 'seed-users.js'), String(count)],
    {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', smoke ? 'ignore' : 'inherit', 'inherit'],
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

const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));

/** Ports the system has just handed out as free (all held at once, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((done) =>
          server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
        ),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dirname(serverEntry) })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

function write(loadAtStart: number): void {
  const meta = {
    date: new Date().toISOString(),
    database: usePglite ? 'PGlite (embedded)' : 'PostgreSQL',
    server: relative(root, serverEntry),
    commit: gitCommit(),
    durationSeconds: duration,
    warmupSeconds: warmup,
    seededUsers: seedUsers,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] },
    libuvThreadPool: threadPool,
    databasePool: poolSize,
    smoke,
  };
  const fmt = (n: number | undefined, digits = 0) =>
    n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits);
  const ms = (n: number | undefined) => fmt(n, n !== undefined && n < 10 ? 2 : 1);
  const markdown = [
    `Benchmark ${meta.date}: ${meta.database}, ${meta.cpus} cores, Node ${meta.node}, ` +
      `${duration} s per scenario after ${warmup} s of warm-up, 1-minute load ` +
      `${loadAtStart.toFixed(2)} at start${smoke ? ' (smoke run: the figures mean nothing)' : ''}`,
    '',
    '| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | RSS MB | compared with | ratio | target | met |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ` +
        `${r.errors ?? ''} | ${r.rssMb ?? ''} | ${r.baseline ?? ''} | ` +
        `${fmt(r.ratio, r.ratio !== undefined && r.ratio >= 100 ? 0 : 2)} | ${r.target ?? ''} | ` +
        `${r.pass === undefined ? '' : r.pass ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${outStem}.json`), JSON.stringify({ meta, rows }, null, 2) + '\n');
  writeFileSync(join(dir, `${outStem}.md`), markdown + '\n');
  process.stdout.write(markdown + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
