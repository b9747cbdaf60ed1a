/**
 * `npm run bench`: the npm script builds first; then, in one run, this measures the limits
 * of this machine (raw argon2 verifies, bare Fastify + pg) and the service against them,
 * and writes the table to bench/results/ as JSON and Markdown. This file is the runner:
 * the order of the run; each scenario is a file of `scenarios/`, the tools in `lib/`.
 *
 *   npm run bench                      # against DATABASE_URL (a fresh database is created on that server)
 *   npm run bench -- --pglite          # against the embedded PGlite database instead
 *   npm run bench -- --smoke           # 0.3 s per scenario, few users: keeps the script working (CI)
 *   npm run bench -- --duration 20 --users 1000000
 *   npm run bench -- --import-rows 100000   # import-users vs COPY with fewer rows
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
import { loadavg } from 'node:os';
import { login, registerUsers } from './lib/api.js';
import type { Bench } from './lib/context.js';
import { createDatabase, outboxDrained } from './lib/database.js';
import { measureServer, type Row } from './lib/measure.js';
import {
  appPort,
  embeddedPort,
  flag,
  idleSeconds,
  log,
  loginUsers,
  serverEntry,
  settleMs,
  sleep,
  usePglite,
} from './lib/options.js';
import { killAll, rssMb, startApp } from './lib/processes.js';
import { writeReport } from './lib/report.js';
import { argon2Baselines, argon2Rows, bareBaseline } from './scenarios/baselines.js';
import { forgotPassword } from './scenarios/forgot-password.js';
import { importUsers } from './scenarios/import.js';
import { login as loginScenario } from './scenarios/login.js';
import { me } from './scenarios/me.js';
import { memoryAndStart } from './scenarios/memory-and-start.js';
import { refresh } from './scenarios/refresh.js';
import { register } from './scenarios/register.js';
import { usersList } from './scenarios/users-list.js';

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
  const rows: Row[] = [];
  try {
    const dbUrl =
      database.url ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres?sslmode=disable`;
    const api = `http://127.0.0.1:${appPort}`;

    log(`starting ${serverEntry} on a fresh database`);
    const app = await startApp(database.url);
    await sleep(settleMs);
    const fresh = rssMb(app.pid);

    log('baselines: raw argon2 verifies, while the server stays idle');
    const idleSince = Date.now() - settleMs;
    const argon2 = await argon2Baselines();
    await sleep(Math.max(0, idleSeconds * 1000 - (Date.now() - idleSince)));
    const idle = rssMb(app.pid);

    log(`registering and logging in ${loginUsers} users through the API`);
    const users = await registerUsers(api, loginUsers);
    const sessions = await Promise.all(users.map((email) => login(api, email)));
    const adminToken = (await login(api, 'bench-admin@example.com')).access_token;
    // Their verification emails are delivered now, not during the first scenarios.
    await outboxDrained(dbUrl);

    log('baseline: bare Fastify + pg');
    const [bareRow, bareRps] = await bareBaseline(dbUrl, sessions[0].user.id);
    rows.push(bareRow, ...argon2Rows(argon2));

    log('scenarios');
    measureServer(app.pid);
    const bench: Bench = {
      api,
      dbUrl,
      users,
      sessions,
      adminToken,
      baselines: { bareRps, argon2 },
    };
    for (const scenario of [me, loginScenario, refresh, register, forgotPassword]) {
      rows.push(...(await scenario(bench)));
    }
    // The emails the last two queued are still being delivered: not during the next runs.
    await outboxDrained(dbUrl);
    rows.push(...(await usersList(bench)));
    // Its own two databases, the server idle meanwhile.
    rows.push(...(await importUsers()));
    const loaded = rssMb(app.pid);
    rows.push(...(await memoryAndStart(app, database.url, { fresh, idle, loaded })));
    writeReport(rows, loadAtStart);
  } finally {
    killAll();
    await database.drop();
  }
  const failures = rows.filter((r) => (r.errors ?? 0) > 0).map((r) => r.scenario);
  if (failures.length) {
    log(`errors, timeouts or non-2xx answers in: ${failures.join('; ')}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  killAll();
  process.exit(1);
});
