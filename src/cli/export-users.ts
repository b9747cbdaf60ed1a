/**
 * `npm run export-users -- out.ndjson [--with-hashes]`: writes every user as NDJSON in
 * the format `import-users` reads (docs/migration.md), so that export → import is
 * lossless (timestamps to the microsecond) and users can leave as easily as they came.
 * Password hashes only with --with-hashes (they are secrets: the file then is one too).
 * `-` writes to standard output. Exit codes: 0 done, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { loadEnvFile } from '../config/env-file.js';
import { UsersRepository } from '../users/users.repository.js';
import { openCliDatabase } from './cli-database.js';

const USAGE = 'Usage: npm run export-users -- <out.ndjson | -> [--with-hashes]';
const PAGE = 5000;

class UsageError extends Error {}

async function write(out: WriteStream | NodeJS.WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function run(): Promise<void> {
  loadEnvFile();
  const { values, positionals } = parseArgs({
    options: {
      'with-hashes': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  if (positionals.length !== 1) throw new UsageError(`One output file is required.\n${USAGE}`);
  const target = positionals[0];
  const config = loadConfig();
  const database = await openCliDatabase(config);
  const out = target === '-' ? process.stdout : createWriteStream(target, { mode: 0o600 });
  let count = 0;
  try {
    const users = database.get(UsersRepository);
    let after: string | undefined;
    for (;;) {
      const page = await users.exportPage(after, PAGE, values['with-hashes']);
      if (page.length === 0) break;
      await write(out, page.map((user) => JSON.stringify(user)).join('\n') + '\n');
      count += page.length;
      after = page.at(-1)!.id;
      if (page.length < PAGE) break;
    }
  } finally {
    if (out !== process.stdout) {
      (out as WriteStream).end();
      await once(out, 'close');
    }
    await database.close();
  }
  process.stderr.write(
    `Exported ${count} users${values['with-hashes'] ? ' with their password hashes (keep the file secret)' : ' (no password hashes: --with-hashes adds them)'}.\n`,
  );
}

run().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    const usage =
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error instanceof Error &&
        'code' in error &&
        String(error.code).startsWith('ERR_PARSE_ARGS'));
    process.exit(usage ? 2 : 1);
  },
);
