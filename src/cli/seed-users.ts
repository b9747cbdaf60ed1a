/**
 * `npm run seed:users -- 1000000 [--batch 20000] [--password ...]`: bulk-inserts N users for
 * load and search measurements. One argon2 hash is computed up front and shared by every
 * row (hashing a million passwords would take hours); rows are generated inside PostgreSQL
 * by `INSERT ... SELECT FROM generate_series`, one transaction per batch, with progress.
 * Same database as the server: DATABASE_URL, else the embedded one under DATA_DIR.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { loadEnvFile } from '../config/env-file.js';
import { PasswordService } from '../users/password.service.js';
import { openCliDatabase, say } from './cli-database.js';

const USAGE = 'Usage: npm run seed:users -- <count> [--batch 20000] [--password <password>]';
const DEFAULT_PASSWORD = 'seeded-users-password';

const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Grace',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Dennis',
  'Frances',
  'Ken',
  'Radia',
  'Linus',
  'Sophie',
  'Tim',
  'Hedy',
  'John',
  'Katherine',
  'Niklaus',
  'Annie',
  'Claude',
  'Joan',
  'Leslie',
  'Shafi',
  'Whitfield',
  'Adele',
  'Bjarne',
  'Lynn',
  'Guido',
  'Jean',
  'Yukihiro',
  'Carol',
  'James',
  'Evelyn',
  'Robert',
  'Mary',
  'Tony',
  'Sister',
  'Fernando',
  'Hal',
  'Ida',
];
const LAST_NAMES = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Ritchie',
  'Allen',
  'Thompson',
  'Perlman',
  'Torvalds',
  'Wilson',
  'Berners-Lee',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Wirth',
  'Easley',
  'Shannon',
  'Clarke',
  'Lamport',
  'Goldwasser',
  'Diffie',
  'Goldberg',
  'Stroustrup',
  'Conway',
  'van Rossum',
  'Sammet',
  'Matsumoto',
  'Shaw',
  'Gosling',
  'Boyd',
  'Noyce',
  'Keller',
  'Hoare',
  'Zeller',
  'Corbato',
  'Abelson',
  'Rhodes',
];

interface SeedArgs {
  count: number;
  batch: number;
  password: string;
}

function parseCommandLine(): SeedArgs {
  const { values, positionals } = parseArgs({
    options: { batch: { type: 'string' }, password: { type: 'string' } },
    allowPositionals: true,
  });
  const count = Number(positionals[0]);
  const batch = Number(values.batch ?? 20_000);
  if (positionals.length !== 1 || !Number.isSafeInteger(count) || count < 1) {
    throw new ConfigError(USAGE);
  }
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 1_000_000) {
    throw new ConfigError(`--batch must be a whole number from 1 to 1000000.\n${USAGE}`);
  }
  return { count, batch, password: values.password ?? DEFAULT_PASSWORD };
}

/**
 * One batch, rows `$1..$2`. The run tag keeps emails and usernames unique across runs;
 * names cycle through the lists above so searches have realistic hit rates; about 2% of
 * users are inactive, 20% unverified, a quarter have no username and a third never logged in.
 */
const INSERT_BATCH = `
  INSERT INTO users (email, username, password_hash, first_name, last_name, role, active,
                     email_verified, created_at, updated_at, last_login_at)
  SELECT lower(replace(f || '.' || l, ' ', '')) || '.' || $3 || i || '@example.com',
         CASE WHEN i % 4 = 0 THEN NULL ELSE lower(f) || '_' || $3 || i END,
         $4, f, l, 'USER', i % 50 <> 0, i % 5 <> 0, created, created,
         CASE WHEN i % 3 = 0 THEN NULL ELSE created + random() * (now() - created) END
    FROM (SELECT i,
                 ($5::text[])[1 + i % cardinality($5::text[])] AS f,
                 ($6::text[])[1 + (i / 7) % cardinality($6::text[])] AS l,
                 now() - random() * interval '1095 days' AS created
            FROM generate_series($1::bigint, $2::bigint) AS i) AS generated
  ON CONFLICT DO NOTHING`;

async function run(): Promise<void> {
  loadEnvFile();
  const args = parseCommandLine();
  const config = loadConfig();
  const hash = await new PasswordService(config).hash(args.password);
  const database = await openCliDatabase(config, 2);
  const tag = Date.now().toString(36);
  const started = Date.now();
  try {
    for (let first = 1; first <= args.count; first += args.batch) {
      const last = Math.min(first + args.batch - 1, args.count);
      await database.dataSource.query(INSERT_BATCH, [
        first,
        last,
        tag,
        hash,
        FIRST_NAMES,
        LAST_NAMES,
      ]);
      progress(last, args.count, started);
    }
    process.stdout.write('\n');
    say('Updating planner statistics (ANALYZE users)...');
    await database.dataSource.query('ANALYZE users');
  } finally {
    await database.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  say(`Seeded ${args.count} users in ${seconds} s; every one has the password "${args.password}".`);
}

function progress(done: number, total: number, started: number): void {
  const rate = Math.round(done / Math.max((Date.now() - started) / 1000, 0.001));
  const line = `Seeded ${done}/${total} (${Math.floor((done / total) * 100)}%), ${rate} rows/s`;
  process.stdout.write(process.stdout.isTTY ? `\r${line}` : `${line}\n`);
}

run().then(
  () => process.exit(0),
  (error: unknown) => {
    const usage = error instanceof ConfigError;
    process.stderr.write(
      `${usage ? '' : 'seed:users failed: '}${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(usage ? 2 : 1);
  },
);
