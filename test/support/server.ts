import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { envSchema } from '../../src/config/config.schema.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { Api } from './http.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
/** The built entry point; TEST_SERVER_ENTRY may point at a copy (e.g. a snapshot of dist/). */
export const MAIN = process.env.TEST_SERVER_ENTRY ?? join(ROOT, 'dist/src/main.js');

/**
 * The working directory of every server and CLI a test starts: an empty one, so that a
 * developer's `.env` in the checkout (read from the working directory) never reaches them;
 * their environment is exactly what `childEnv` builds.
 */
export const CHILD_CWD = mkdtempSync(join(tmpdir(), 'authkit-test-cwd-'));

/** The per-route rate limits (`RATE_LIMIT_<ROUTE>_IP` / `_ACCOUNT`), from the config schema. */
export const RATE_LIMIT_VARS = Object.keys(envSchema.shape).filter((name) =>
  /^RATE_LIMIT_\w+_(IP|ACCOUNT)$/.test(name),
);

/**
 * What every test server gets unless its test sets its own: rate limits and a login
 * backoff far above what any test does from 127.0.0.1 (the suite registers and logs in a
 * great deal), yet on, so that every request still goes through them. A key set to
 * `undefined` in a test's `env` restores the service's default.
 */
export const RELAXED_LIMITS: Env = {
  ...Object.fromEntries(RATE_LIMIT_VARS.map((name) => [name, '1000000/1m'])),
  LOGIN_BACKOFF_THRESHOLD: '1000000',
  RECOVERY_CODES_PER_HOUR: '1000000',
};

/**
 * Variables the server reads: every key of the configuration schema, so that a new one is
 * covered by itself, plus the Node.js ones that change how it runs. They are removed from
 * the inherited environment so that a developer's shell (or CI's `DATABASE_URL`, which is
 * the admin database) never leaks in.
 */
const SERVER_VARS = [...Object.keys(envSchema.shape), 'NODE_OPTIONS', 'UV_THREADPOOL_SIZE'];

export type Env = Record<string, string | undefined>;

export interface TestServer {
  url: string;
  port: number;
  /** The database the server uses; in embedded mode (no DATABASE_URL) a stub that throws. */
  db: TestDatabase;
  /** stdout and stderr lines, in arrival order. */
  logs: string[];
  dataDir: string;
  api: Api;
  child: ChildProcess;
  /** SIGTERM, wait for exit (SIGKILL after 20 s); resolves to the exit code (null if killed). */
  stop(): Promise<number | null>;
  kill(): void;
}

export interface StartedProcess {
  child: ChildProcess;
  logs: string[];
  /** Resolves with the exit code (null when ended by a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** Resolves with the signal that ended the process, or null. */
  signal(): NodeJS.Signals | null;
}

const live = new Set<{ cleanup(): Promise<unknown> }>();

/** Stops every server and drops every database this module started and nobody stopped yet. */
export async function cleanup(): Promise<void> {
  const pending = [...live];
  live.clear();
  await Promise.allSettled(pending.map((r) => r.cleanup()));
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'authkit-test-'));
}

/** The child's environment: the inherited one minus server variables, plus `env`. */
export function childEnv(env: Env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SERVER_VARS) delete out[k];
  for (const k of Object.keys(out)) if (k.startsWith('VITEST') || k === 'TEST') delete out[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Spawns the built server with exactly `env` (on top of a clean inherited environment). */
export function startProcess(env: Env): StartedProcess {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [MAIN], {
    cwd: CHILD_CWD,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => logs.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => logs.push(l));
  let signal: NodeJS.Signals | null = null;
  const exited = new Promise<number | null>((resolveExit) => {
    child.on('exit', (code, sig) => {
      signal = sig;
      children.delete(child);
      // Let readline deliver the last lines before anyone reads `logs`.
      setImmediate(() => resolveExit(code));
    });
  });
  return { child, logs, exited, signal: () => signal };
}

/** Waits for the process to exit by itself; kills it and fails after `timeoutMs`. */
export async function waitForExit(p: StartedProcess, timeoutMs = 30_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (r) => (timer = setTimeout(() => r('timeout'), timeoutMs)),
  );
  const result = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`process still running after ${timeoutMs} ms:\n${tail(p.logs)}`);
  }
  return result;
}

export function tail(logs: string[], n = 60): string {
  return logs.slice(-n).join('\n');
}

export interface StartServerOptions {
  env?: Env;
  /** Share a database between servers; it is then not dropped by `stop()`. */
  database?: TestDatabase;
  /** Reuse a data directory; it is then not removed by `stop()`. */
  dataDir?: string;
  readyTimeoutMs?: number;
  /** Listen on this port (from `freePort()`), for a test that must know the URL up front. */
  port?: number;
}

const EMBEDDED_DB: TestDatabase = {
  url: '',
  query: () => Promise.reject(new Error('embedded mode: the test has no handle on the database')),
  disconnect: () => Promise.reject(new Error('embedded mode: no test database')),
  drop: () => Promise.resolve(),
};

/**
 * Starts `node dist/src/main.js` on a free port with a fresh database (unless `database` is
 * given, or `env.DATABASE_URL` is explicitly `undefined`, which selects the embedded PGlite)
 * and resolves once `GET /health/ready` answers 200.
 */
export async function startServer(opts: StartServerOptions = {}): Promise<TestServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const env = opts.env ?? {};
  const embedded = 'DATABASE_URL' in env && env.DATABASE_URL === undefined;
  const ownDb = !opts.database && !embedded;
  const db = opts.database ?? (embedded ? EMBEDDED_DB : await createTestDatabase());
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? makeDataDir();
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;

  const proc = startProcess({
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: embedded ? undefined : db.url,
    ...RELAXED_LIMITS,
    ...env,
  });

  let stopped: Promise<number | null> | undefined;
  const resource = {
    cleanup: () => server.stop(),
  };
  const server: TestServer = {
    url,
    port,
    db,
    logs: proc.logs,
    dataDir,
    api: new Api(url),
    child: proc.child,
    kill: () => {
      proc.child.kill('SIGKILL');
    },
    stop: () => {
      stopped ??= (async () => {
        live.delete(resource);
        // Not twice: a test may have sent SIGTERM itself, and a second one could kill the
        // process in the middle of its graceful shutdown.
        if (proc.child.exitCode === null && proc.child.signalCode === null && !proc.child.killed) {
          proc.child.kill('SIGTERM');
        }
        const force = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
        const code = await proc.exited;
        clearTimeout(force);
        if (ownDb) await db.drop().catch(() => undefined);
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
        return code;
      })();
      return stopped;
    },
  };
  live.add(resource);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => (exitCode = c));
  let lastStatus = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== undefined || proc.child.exitCode !== null) {
      await server.stop();
      // The port was free when chosen, but another process may have bound it since: try
      // another one (only when the test did not ask for this port).
      if (!opts.port && proc.logs.some((line) => line.includes('EADDRINUSE'))) {
        return startServer(opts);
      }
      throw new Error(
        `server exited with ${proc.child.exitCode ?? proc.signal()} before it was ready:\n${tail(proc.logs)}`,
      );
    }
    // Only once our child says it listens is the port ours: until then, an answer on it
    // could come from another test's server that took the port first.
    if (proc.logs.some((line) => line.includes(LISTENING))) {
      try {
        const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return server;
        lastStatus = String(res.status);
      } catch (err) {
        lastStatus = (err as Error).message;
      }
    } else {
      lastStatus = 'not listening yet';
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(`server not ready after the timeout (last: ${lastStatus}):\n${tail(proc.logs)}`);
}

/** The start-up line `main.ts` prints once the server listens on its port. */
const LISTENING = '"msg":"Listening on ';
