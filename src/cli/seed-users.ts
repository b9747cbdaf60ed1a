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
import { UsersRepository } from '../users/users.repository.js';
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

async function run(): Promise<void> {
  loadEnvFile();
  const args = parseCommandLine();
  const config = loadConfig();
  const database = await openCliDatabase(config, 2);
  const users = database.get(UsersRepository);
  const hash = await database.get(PasswordService).hash(args.password);
  const tag = Date.now().toString(36);
  const started = Date.now();
  try {
    for (let first = 1; first <= args.count; first += args.batch) {
      const last = Math.min(first + args.batch - 1, args.count);
      await users.seedBatch({
        first,
        last,
        tag,
        passwordHash: hash,
        firstNames: FIRST_NAMES,
        lastNames: LAST_NAMES,
      });
      progress(last, args.count, started);
    }
    process.stdout.write('\n');
    say('Updating planner statistics (ANALYZE users)...');
    await users.analyze();
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
