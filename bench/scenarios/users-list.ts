/** GET /api/users (admin) list, filter and search over a seeded table of many users. */
import type { Bench } from '../lib/context.js';
import { seedMany } from '../lib/database.js';
import { measure, row, type Row } from '../lib/measure.js';
import { seedUsers } from '../lib/options.js';

const queries = [
  ['list', '/api/users?page=1&limit=20'],
  [
    'filter, sorted by email, page 3',
    '/api/users?role=USER&active=true&sort=email&order=asc&page=3',
  ],
  ['search', '/api/users?search=user12345'],
] as const;

export async function usersList({ api, dbUrl, adminToken }: Bench): Promise<Row[]> {
  await seedMany(dbUrl, seedUsers);
  const users = `${seedUsers.toLocaleString('en')} users`;
  const rows: Row[] = [];
  for (const [name, path] of queries) {
    const run = await measure({
      url: `${api}${path}`,
      headers: { authorization: `Bearer ${adminToken}` },
      connections: 10,
    });
    rows.push(
      row(`GET /api/users ${name} (${users}), c=10`, run, {
        baseline: 'p95 latency (ms)',
        ratio: run.latency.p95,
        target: '≤ 50 ms',
        pass: run.latency.p95 <= 50,
      }),
    );
  }
  return rows;
}
