// Unit tests: the import's compact digest → line map (src/users/digest-lines.ts).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestLines } from '../../src/users/digest-lines.js';

const digest = (text: string) => {
  const h = createHash('sha1').update(text).digest();
  return h.readUIntBE(0, 6) * 32 + (h[6] >> 3);
};

describe('DigestLines', () => {
  it('answers the first line of each key, as a Map would, through many growths', () => {
    const map = new Map<number, number>();
    const lines = new DigestLines(16);
    for (let i = 1; i <= 50_000; i += 1) {
      const key = digest(`user${i % 20_000}@example.com`);
      if (!map.has(key)) map.set(key, i);
      lines.set(key, i);
    }
    expect(lines.size).toBe(map.size);
    for (const [key, line] of map) expect(lines.get(key)).toBe(line);
    expect(lines.get(digest('nobody@example.com'))).toBeUndefined();
  });

  it('keeps keys that collide in the low bits apart, including 0 and 2^53 - 1', () => {
    const lines = new DigestLines(16);
    const keys = [0, 2 ** 32, 2 ** 33, 3 * 2 ** 32, 2 ** 53 - 1, 2 ** 53 - 1 - 2 ** 32];
    keys.forEach((key, i) => lines.set(key, i + 1));
    keys.forEach((key, i) => expect(lines.get(key)).toBe(i + 1));
    expect(lines.get(5 * 2 ** 32)).toBeUndefined();
  });

  it('refuses line 0, which marks an empty slot', () => {
    expect(() => new DigestLines().set(1, 0)).toThrow(RangeError);
  });
});
