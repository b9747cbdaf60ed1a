/** POST /api/recovery/forgot-password: unknown emails must take as long as known ones. */
import type { Client } from 'autocannon';
import type { Bench } from '../lib/context.js';
import { measure, percentiles, row, within, type Row, type Run } from '../lib/measure.js';

/**
 * Known and unknown emails alternate on every connection, so both kinds meet the same
 * load in the same run: what an attacker timing the answers would see.
 */
export async function forgotPassword({ api, users }: Bench): Promise<Row[]> {
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
        { setupRequest: (request) => ({ ...request, body: body(users[next++ % users.length]) }) },
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
  const [knownRun, unknownRun] = [half(known), half(unknown)];
  const ratio = unknownRun.latency.p50 / knownRun.latency.p50;
  return [
    row('POST /api/recovery/forgot-password, known emails (mixed run, c=10)', knownRun),
    row('POST /api/recovery/forgot-password, unknown emails (same run)', unknownRun, {
      baseline: 'p50 / known p50',
      ratio,
      target: '0.80–1.25',
      pass: within(ratio, 0.8, 1.25),
    }),
  ];
}
