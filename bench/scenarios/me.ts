/** GET /api/auth/me: throughput against the bare route, and its latency during a login storm. */
import type { Bench } from '../lib/context.js';
import { measure, row, type Row } from '../lib/measure.js';
import { duration, sleep } from '../lib/options.js';
import { loginStorm } from './login.js';

export async function me({ api, users, sessions, baselines }: Bench): Promise<Row[]> {
  const options = {
    url: `${api}/api/auth/me`,
    headers: { authorization: `Bearer ${sessions[0].access_token}` },
  };
  const idle = await measure({ ...options, connections: 1 });
  const busy = await measure({ ...options, connections: 50 });
  const [storm, duringStorm] = await Promise.all([
    loginStorm(api, users, 10, false),
    // Starts once the storm is under way, and ends before it does.
    sleep(250).then(() => measure({ ...options, connections: 1, duration: duration * 0.9 }, false)),
  ]);
  const stormRatio = duringStorm.latency.p99 / idle.latency.p99;
  return [
    row('GET /api/auth/me, c=50', busy, {
      baseline: 'bare Fastify + pg req/s',
      ratio: busy.rps / baselines.bareRps,
      target: '≥ 0.50',
      pass: busy.rps / baselines.bareRps >= 0.5,
    }),
    row('GET /api/auth/me, c=1 (idle)', idle),
    row('GET /api/auth/me, c=1, during a c=10 login storm', duringStorm, {
      baseline: 'p99 / idle c=1 p99',
      ratio: stormRatio,
      target: '≤ 5',
      pass: stormRatio <= 5,
    }),
    row('POST /api/auth/login, c=10 (the storm above)', storm),
  ];
}
