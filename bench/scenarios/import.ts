/**
 * `npm run import-users` of N rows (1,000,000; 2,000 with --smoke) against PostgreSQL's
 * `COPY` of the same rows into the same table and indexes, each into a fresh database:
 * rows/s of both, their ratio (target ≥ 0.3) and the importer's peak RSS (it streams, so
 * memory stays flat whatever N). PostgreSQL only: the embedded PGlite has no `COPY` from a
 * file, and the scenario says so and is left out.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Row } from '../lib/measure.js';
import { flag, log, numberOption, serverEntry, sleep, smoke, usePglite } from '../lib/options.js';

const importRows = numberOption('import-rows', smoke ? 2_000 : 1_000_000);
/** A real bcrypt hash (of "benchmark passphrase 4711", cost 10): the import verifies none. */
const HASH = '$2b$10$30Lz0fgfTv07XJoR40/bi.N7Ckyf/EiRsAIO3QVdtE0EgQZicvQ.S';

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Writes the same rows as NDJSON (for the import) and CSV (for COPY). */
async function writeFiles(dir: string): Promise<{ ndjson: string; csv: string }> {
  const ndjson = join(dir, 'users.ndjson');
  const csv = join(dir, 'users.csv');
  const a = createWriteStream(ndjson);
  const b = createWriteStream(csv);
  b.write('email,external_id,first_name,last_name,password_hash,created_at\n');
  for (let i = 0; i < importRows; i += 1) {
    const oid = i.toString(16).padStart(24, '0');
    const email = `imported.${i}@example.com`;
    const created = new Date(Date.UTC(2020, 0, 1) + i * 1000).toISOString();
    const okA = a.write(
      `${JSON.stringify({ _id: { $oid: oid }, email, firstName: 'Ada', lastName: `Lovelace${i % 97}`, passwordHash: HASH, createdAt: { $date: created } })}\n`,
    );
    const okB = b.write(`${email},${oid},Ada,Lovelace${i % 97},${HASH},${created}\n`);
    if (!okA) await once(a, 'drain');
    if (!okB) await once(b, 'drain');
  }
  a.end();
  b.end();
  await Promise.all([once(a, 'close'), once(b, 'close')]);
  return { ndjson, csv };
}

/** Runs a CLI of the build under test, sampling its RSS; answers seconds and peak MiB. */
async function timedCli(name: string, args: string[], url: string) {
  const started = performance.now();
  const child = spawn(process.execPath, [join(serverEntry, '..', 'cli', name), ...args], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', smoke ? 'ignore' : 'inherit'],
  });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      if (kb) peak = Math.max(peak, Math.round(Number(kb) / 1024));
    } catch {
      // exited between two samples
    }
  }, 100);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  clearInterval(sampler);
  return { seconds: (performance.now() - started) / 1000, peakMb: peak, code };
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function importUsers(): Promise<Row[]> {
  if (usePglite) {
    log('import vs COPY: left out on PGlite (no COPY from a file); set DATABASE_URL');
    return [];
  }
  const adminUrl = process.env.DATABASE_URL!;
  const dir = mkdtempSync(join(tmpdir(), 'authkit-bench-import-'));
  const stamp = Date.now();
  const names = [`authkit_bench_import_${stamp}`, `authkit_bench_copy_${stamp}`];
  const rows: Row[] = [];
  try {
    log(`import vs COPY: writing ${importRows.toLocaleString('en')} rows`);
    const files = await writeFiles(dir);
    // A local server's COPY reads the file as the postgres user.
    chmodSync(dir, 0o755);
    chmodSync(files.csv, 0o644);
    const [importUrl, copyUrl] = await Promise.all(names.map((n) => freshDatabase(adminUrl, n)));
    // The same schema (migrations, indexes) in both: an import of nothing migrates.
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    for (const url of [importUrl, copyUrl]) await timedCli('import-users.js', [empty], url);

    log('import vs COPY: npm run import-users');
    const run = await timedCli('import-users.js', [files.ndjson, '--batch', '2000'], importUrl);
    const imported = await withClient(importUrl, async (c) =>
      Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0].n),
    );
    const importRate = imported / run.seconds;

    log('import vs COPY: COPY of the same rows');
    let copyRate: number | undefined;
    try {
      const started = performance.now();
      await withClient(copyUrl, (c) =>
        c.query(
          `COPY users (email, external_id, first_name, last_name, password_hash, created_at)
             FROM '${files.csv.replaceAll("'", "''")}' WITH (FORMAT csv, HEADER true)`,
        ),
      );
      copyRate = importRows / ((performance.now() - started) / 1000);
    } catch (error) {
      // A database server on another host cannot read the bench's file.
      log(`import vs COPY: COPY failed (${(error as Error).message}); no baseline`);
    }
    const ratio = copyRate ? importRate / copyRate : undefined;
    const n = importRows.toLocaleString('en');
    log(
      `import: ${importRate.toFixed(0)} rows/s, COPY: ${copyRate?.toFixed(0) ?? 'n/a'} rows/s, ` +
        `ratio ${ratio?.toFixed(2) ?? 'n/a'}, importer peak RSS ${run.peakMb} MiB`,
    );
    rows.push({
      scenario: `import-users, ${n} NDJSON rows, vs COPY (rows/s; RSS = importer's peak)`,
      rps: importRate,
      errors: run.code === 0 && imported === importRows ? 0 : 1,
      rssMb: run.peakMb,
      baseline: copyRate ? `COPY ${copyRate.toFixed(0)} rows/s` : 'COPY unavailable',
      ...(ratio !== undefined ? { ratio, target: '≥ 0.3 of COPY', pass: ratio >= 0.3 } : {}),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!flag('keep')) {
      await sleep(100);
      await withClient(adminUrl, async (c) => {
        for (const name of names) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    }
  }
  return rows;
}
