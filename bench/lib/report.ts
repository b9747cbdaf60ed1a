/** bench/results/<out>.{json,md}: the run's rows and the conditions they were measured in. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Row } from './measure.js';
import {
  duration,
  outStem,
  poolSize,
  root,
  seedUsers,
  serverEntry,
  smoke,
  threadPool,
  usePglite,
  warmup,
} from './options.js';

export function writeReport(rows: Row[], loadAtStart: number): void {
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

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dirname(serverEntry) })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}
