/** The processes a bench run starts: the server under test, the baselines, and their RSS. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appPort,
  baselinePort,
  duration,
  embeddedPort,
  here,
  password,
  poolSize,
  serverEntry,
  sleep,
  threadPool,
} from './options.js';

/** Every child started, killed when the run ends however it ends. */
const children: ChildProcess[] = [];
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

export interface App {
  process: ChildProcess;
  pid: number;
  startMs: number;
  dataDir: string;
}

/** Starts the server as `npm run start:prod` does, and times it to its first ready answer. */
export async function startApp(databaseUrl: string | undefined, dataDir?: string): Promise<App> {
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
      // The bench logs its users in all at once and storms the login route: a bounded
      // hashing queue would answer some of them 503 (by design), which the bench counts as
      // failures. It measures throughput, so the queue is unbounded here.
      ARGON2_MAX_QUEUE: '1000000',
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

/** Bare Fastify + pg (baseline-server.ts), on the same database. */
export async function startBaseline(url: string): Promise<ChildProcess> {
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

/** Raw argon2id verifies per second with `concurrency` in flight (argon2-baseline.ts). */
export async function argon2Baseline(concurrency: number): Promise<number> {
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

/** Runs a CLI of the build under test to its end. */
export async function runCli(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  quiet: boolean,
): Promise<void> {
  const child = spawn(process.execPath, [join(serverEntry, '..', 'cli', name), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  children.push(child);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`${name} exited with ${code}`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

export function rssMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}
