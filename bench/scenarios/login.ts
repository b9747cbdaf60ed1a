/** POST /api/auth/login at c=10 and c=50, against raw argon2 verifies at the same concurrency. */
import type { Bench } from '../lib/context.js';
import { measure, postEach, row, type Row, type Run } from '../lib/measure.js';
import { password } from '../lib/options.js';

export function loginStorm(
  api: string,
  emails: string[],
  connections: number,
  warm = true,
): Promise<Run> {
  let next = 0;
  return measure(
    postEach(`${api}/api/auth/login`, connections, () =>
      JSON.stringify({ email: emails[next++ % emails.length], password }),
    ),
    warm,
  );
}

export async function login({ api, users, baselines }: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  for (const connections of [10, 50] as const) {
    const run = await loginStorm(api, users, connections);
    const ratio = run.rps / baselines.argon2[connections];
    rows.push(
      row(`POST /api/auth/login, c=${connections}`, run, {
        baseline: `argon2 verifies/s (${connections})`,
        ratio,
        target: '≥ 0.90',
        pass: ratio >= 0.9,
      }),
    );
  }
  return rows;
}
