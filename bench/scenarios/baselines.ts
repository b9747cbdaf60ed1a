/** The machine's limits the scenarios are divided by, measured in the same run. */
import type { Row } from '../lib/measure.js';
import { measure, measureServer, row } from '../lib/measure.js';
import { baselinePort, threadPool } from '../lib/options.js';
import { argon2Baseline, startBaseline, stop } from '../lib/processes.js';

/** Raw argon2id verifies/s at 10 and 50 in flight (argon2-baseline.ts). */
export async function argon2Baselines(): Promise<{ 10: number; 50: number }> {
  return { 10: await argon2Baseline(10), 50: await argon2Baseline(50) };
}

export function argon2Rows(argon2: { 10: number; 50: number }): Row[] {
  return ([10, 50] as const).map((inFlight) => ({
    scenario: `baseline: argon2id verifies/s, ${inFlight} in flight (libuv pool ${threadPool})`,
    rps: argon2[inFlight],
  }));
}

/** Bare Fastify + pg answering a primary-key select of `userId`, c=50. */
export async function bareBaseline(dbUrl: string, userId: string): Promise<[Row, number]> {
  measureServer(null);
  const baseline = await startBaseline(dbUrl);
  const bare = await measure({
    url: `http://127.0.0.1:${baselinePort}/users/${userId}`,
    connections: 50,
  });
  await stop(baseline);
  return [row('baseline: bare Fastify + pg primary-key select, c=50', bare), bare.rps];
}
