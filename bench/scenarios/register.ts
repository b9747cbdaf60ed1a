/** POST /api/auth/register of new addresses, c=10. */
import type { Bench } from '../lib/context.js';
import { measure, postEach, row, type Row } from '../lib/measure.js';
import { password } from '../lib/options.js';

export async function register({ api }: Bench): Promise<Row[]> {
  let next = 0;
  const run = Date.now().toString(36);
  const result = await measure(
    postEach(`${api}/api/auth/register`, 10, () =>
      JSON.stringify({ email: `reg-${run}-${next++}@example.com`, password }),
    ),
    false,
  );
  return [row('POST /api/auth/register, c=10', result)];
}
