// Adds the Node side (bcryptjs, argon2) to the vectors of scripts/legacy-hash-vectors.py
// and prints test/fixtures/legacy-hashes.json. Run ONCE by hand (see the Python script).
/* global process, URL */
import { readFileSync } from 'node:fs';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';

const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'))
    .version;

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passwords = ['correct horse battery staple', 'Pässwörd-日本-🔑'];
const vectors = [...input.vectors];

async function add(format, library, password, hash, verify) {
  if (!(await verify(password, hash)) || (await verify(`${password}x`, hash))) {
    throw new Error(`${format}: the library does not verify its own hash`);
  }
  vectors.push({ format, library, password, hash });
}

const bcryptjs = `bcryptjs ${versionOf('bcryptjs')}`;
const a2 = `argon2 ${versionOf('argon2')}`;
for (const password of passwords) {
  await add('bcryptjs-2b', bcryptjs, password, await bcrypt.hash(password, 10), (p, h) =>
    bcrypt.compare(p, h),
  );
  // bcryptjs wrote $2a$ before 3.0; old Express apps are full of them.
  const salt2a = (await bcrypt.genSalt(10)).replace(/^\$2b\$/, '$2a$');
  await add('bcryptjs-2a', bcryptjs, password, await bcrypt.hash(password, salt2a), (p, h) =>
    bcrypt.compare(p, h),
  );
  await add(
    'argon2id',
    a2,
    password,
    await argon2.hash(password, { type: argon2.argon2id }),
    (p, h) => argon2.verify(h, p),
  );
  await add(
    'argon2i',
    a2,
    password,
    await argon2.hash(password, { type: argon2.argon2i, memoryCost: 4096, timeCost: 3 }),
    (p, h) => argon2.verify(h, p),
  );
}

process.stdout.write(`${JSON.stringify({ ...input, vectors }, null, 2)}\n`);
