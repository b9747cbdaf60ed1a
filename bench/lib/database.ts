/** The bench's throwaway database, and what it waits for or fills in there. */
import pg from 'pg';
import { flag, log, sleep, smoke, usePglite } from './options.js';
import { runCli } from './processes.js';

export interface BenchDatabase {
  /** Undefined on PGlite: the server under test starts its own embedded database. */
  url: string | undefined;
  drop(): Promise<void>;
}

/** A fresh database on the `DATABASE_URL` server, dropped at the end unless `--keep`. */
export async function createDatabase(): Promise<BenchDatabase> {
  if (usePglite) return { url: undefined, drop: () => Promise.resolve() };
  const adminUrl = process.env.DATABASE_URL!;
  const name = `authkit_bench_${Date.now()}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (flag('keep')) return;
      await withClient(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
    },
  };
}

/** Waits until the mail outbox has nothing left to deliver. */
export function outboxDrained(url: string): Promise<void> {
  return withClient(url, async (client) => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { rows: counted } = await client.query<{ pending: string }>(
        `SELECT count(*) AS pending FROM mail_outbox WHERE status = 'pending'`,
      );
      const pending = Number(counted[0].pending);
      if (pending === 0) return;
      if (Date.now() > deadline) throw new Error(`${pending} emails still undelivered`);
      log(`waiting for ${pending} queued emails to be delivered`);
      await sleep(smoke ? 100 : 2_000);
    }
  });
}

/** Bulk users for the list/search scenarios: the seed script of `npm run seed:users`. */
export async function seedMany(url: string, count: number): Promise<void> {
  log(`seeding ${count.toLocaleString('en')} users for list/search`);
  await runCli('seed-users.js', [String(count)], { DATABASE_URL: url }, smoke);
  await withClient(url, (client) => client.query('ANALYZE users'));
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
