/** POST /api/auth/refresh with rotation, c=50, against the bare route. */
import type { Bench } from '../lib/context.js';
import { measure, row, type Row } from '../lib/measure.js';

export async function refresh({ api, sessions, baselines }: Bench): Promise<Row[]> {
  // Each in-flight request takes a token from the pool and puts its successor back.
  const pool = sessions.slice(1).map((s) => s.refresh_token);
  const successor = /"refresh_token":"([^"]+)"/;
  const run = await measure({
    url: `${api}/api/auth/refresh`,
    connections: Math.min(50, pool.length),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: `{"refresh_token":"${pool.shift()}"}` }),
        onResponse: (status, body) => {
          const token = status === 200 ? successor.exec(body)?.[1] : undefined;
          if (token) pool.push(token);
        },
      },
    ],
  });
  return [
    row('POST /api/auth/refresh (rotating), c=50', run, {
      baseline: 'bare Fastify + pg req/s',
      ratio: run.rps / baselines.bareRps,
      target: '≥ 0.20',
      pass: run.rps / baselines.bareRps >= 0.2,
    }),
  ];
}
