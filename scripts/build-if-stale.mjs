// `npm start` and `npm test` run this first: it builds (`npm run build`) only when the
// sources changed since the last build, so a second `npm start` on a built checkout starts
// at once. The build's inputs are hashed by content (a checkout, a `git stash` or a copy
// keeps no trustworthy mtimes) and the hash is kept next to the output in
// `dist/.build-fingerprint`, written only after a build that succeeded. Two starts at once
// take turns: the second waits for the first's build, then finds it up to date.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

/** What `npm run build` reads (besides node_modules, which package-lock.json pins). */
export const BUILD_INPUTS = [
  'src',
  'migrations',
  'bench',
  'pages',
  'scripts/build-pages.mjs',
  'nest-cli.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
  'package-lock.json',
];

/** SHA-256 over the paths and contents of every file of `inputs` below `root`, in a stable order. */
export function fingerprint(root, inputs = BUILD_INPUTS) {
  const files = [];
  const walk = (path) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else files.push(path);
  };
  for (const input of inputs) walk(join(root, input));
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const stampOf = (root) => join(root, 'dist', '.build-fingerprint');

/** True when `dist/` was built from exactly the current sources. */
export function upToDate(root) {
  const stamp = stampOf(root);
  return existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === fingerprint(root);
}

/** Holds `<root>/.build-lock` (a directory: mkdir is atomic) while `work` runs. */
async function withLock(root, work) {
  const lock = join(root, '.build-lock');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      // A lock older than 10 minutes belongs to a build that died.
      if (Date.now() - statSync(lock).mtimeMs > 600_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() - started > 900_000)
        throw new Error(`${lock} is held for too long`, { cause: error });
      await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function main() {
  const root = join(import.meta.dirname, '..');
  await withLock(root, () => {
    if (upToDate(root)) {
      process.stderr.write('dist/ is up to date with the sources: no build needed.\n');
      return;
    }
    const sources = fingerprint(root);
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) process.exit(build.status ?? 1);
    // The sources the build read: if they changed meanwhile, the next start builds again.
    writeFileSync(stampOf(root), `${sources}\n`);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
