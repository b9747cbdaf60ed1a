// The TypeORM CLI on the shared DataSource (`npm run migration:run`, `migration:revert`,
// `migration:generate`): it applies and reverts the migrations, finds the entities in step
// with the schema, and ends by itself, on PostgreSQL and on the embedded PGlite database.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { CHILD_CWD, ROOT, childEnv, makeDataDir, type Env } from './support/server.js';

const CLI = join(ROOT, 'node_modules/typeorm/cli.js');
const DATA_SOURCE = join(ROOT, 'dist/src/database/data-source.js');
const MIGRATIONS = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.ts')).length;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Run {
  code: number | null;
  output: string;
}

/** Runs the TypeORM CLI like the npm scripts do; fails the test if it does not end by itself. */
function typeorm(args: string[], env: Env, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '-d', DATA_SOURCE, ...args], {
      cwd: CHILD_CWD,
      env: childEnv({ NODE_ENV: 'test', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`typeorm ${args[0]} did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function appliedMigrations(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM migrations');
  return Number(row.n);
}

describe('migration CLI on DATABASE_URL', () => {
  it('runs every migration, finds no schema drift, reverts the last one and re-applies it', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const env = { DATABASE_URL: db.url, DATA_DIR: makeDataDir() };
    cleanups.push(() => rmSync(env.DATA_DIR, { recursive: true, force: true }));

    const run = await typeorm(['migration:run'], env);
    expect(run.code, run.output).toBe(0);
    expect(await appliedMigrations(db)).toBe(MIGRATIONS);

    // --check: exit 0 only when the entities and the migrated schema agree.
    const out = mkdtempSync(join(tmpdir(), 'authkit-migration-'));
    cleanups.push(() => rmSync(out, { recursive: true, force: true }));
    const generate = await typeorm(['migration:generate', join(out, 'Drift'), '--check'], env);
    expect(generate.code, generate.output).toBe(0);
    expect(readdirSync(out)).toEqual([]);

    const revert = await typeorm(['migration:revert'], env);
    expect(revert.code, revert.output).toBe(0);
    expect(revert.output).toMatch(/reverted successfully/);
    expect(await appliedMigrations(db)).toBe(MIGRATIONS - 1);

    const again = await typeorm(['migration:run'], env);
    expect(again.code, again.output).toBe(0);
    expect(await appliedMigrations(db)).toBe(MIGRATIONS);
  }, 180_000);
});

describe('migration CLI on the embedded database (no DATABASE_URL)', () => {
  it('migrates and reverts the PGlite database under DATA_DIR, and every command ends', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = { DATABASE_URL: undefined, DATA_DIR: dataDir };

    const run = await typeorm(['migration:run'], env, 120_000);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/executed successfully/);

    const revert = await typeorm(['migration:revert'], env, 120_000);
    expect(revert.code, revert.output).toBe(0);
    expect(revert.output).toMatch(/reverted successfully/);

    // The revert was flushed to DATA_DIR: the next run applies exactly that migration again.
    const again = await typeorm(['migration:run'], env, 120_000);
    expect(again.code, again.output).toBe(0);
    expect(again.output.match(/executed successfully/g)).toHaveLength(1);
  }, 300_000);
});
