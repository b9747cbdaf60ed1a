// `npm start` and `npm test` build only when the sources changed (scripts/build-if-stale.mjs):
// the fingerprint of the build's inputs, and the up-to-date check against dist/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { BUILD_INPUTS, fingerprint, upToDate } from '../scripts/build-if-stale.mjs';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'authkit-stale-'));
  dirs.push(root);
  mkdirSync(join(root, 'src/users'), { recursive: true });
  writeFileSync(join(root, 'src/main.ts'), 'export {};\n');
  writeFileSync(join(root, 'src/users/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  return root;
}

describe('build-if-stale', () => {
  it('reads what the build reads', () => {
    for (const input of ['src', 'migrations', 'pages', 'package-lock.json', 'nest-cli.json']) {
      expect(BUILD_INPUTS).toContain(input);
    }
  });

  it('has a fingerprint that changes with a file, a new file or a rename, and with nothing else', () => {
    const root = checkout();
    const first = fingerprint(root);
    expect(fingerprint(root)).toBe(first);
    writeFileSync(join(root, 'README.md'), 'not a build input\n');
    mkdirSync(join(root, 'test'));
    writeFileSync(join(root, 'test/x.test.ts'), 'neither\n');
    expect(fingerprint(root)).toBe(first);

    writeFileSync(join(root, 'src/users/a.ts'), 'export const a = 2;\n');
    const edited = fingerprint(root);
    expect(edited).not.toBe(first);
    writeFileSync(join(root, 'src/users/b.ts'), 'export const a = 2;\n');
    const added = fingerprint(root);
    expect(added).not.toBe(edited);
    rmSync(join(root, 'src/users/a.ts'));
    expect(fingerprint(root)).not.toBe(added);
  });

  it('is up to date only when dist/ holds the fingerprint of the current sources', () => {
    const root = checkout();
    expect(upToDate(root)).toBe(false);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/.build-fingerprint'), `${fingerprint(root)}\n`);
    expect(upToDate(root)).toBe(true);
    writeFileSync(join(root, 'package-lock.json'), '{"changed":true}\n');
    expect(upToDate(root)).toBe(false);
  });
});
