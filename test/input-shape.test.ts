// The bounded, iterative walks over untrusted input (issue 13, item 6).
import { describe, expect, it } from 'vitest';
import { fieldsWithNul, MAX_INPUT_DEPTH, nestsDeeperThan } from '../src/common/http/input-shape.js';

/** `depth` arrays inside each other, built without recursion. */
function nestedArrays(depth: number): unknown {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

describe('nestsDeeperThan', () => {
  it('counts containers: a scalar is 0, {} is 1, {"a":[1]} is 2', () => {
    expect(nestsDeeperThan('x', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [1] }, 1)).toBe(true);
    expect(nestsDeeperThan({ a: [1] }, 2)).toBe(false);
  });

  it('allows MAX_INPUT_DEPTH levels and refuses one more (32 by default)', () => {
    expect(MAX_INPUT_DEPTH).toBe(32);
    expect(nestsDeeperThan(nestedArrays(MAX_INPUT_DEPTH))).toBe(false);
    expect(nestsDeeperThan(nestedArrays(MAX_INPUT_DEPTH + 1))).toBe(true);
    expect(nestsDeeperThan({ ok: 1, deep: { a: nestedArrays(MAX_INPUT_DEPTH) } })).toBe(true);
  });

  it('walks a million levels without exhausting the stack', () => {
    expect(nestsDeeperThan(nestedArrays(1_000_000), 2_000_000)).toBe(false);
    expect(nestsDeeperThan(nestedArrays(1_000_000))).toBe(true);
  });
});

describe('fieldsWithNul', () => {
  it('names every field holding U+0000, in document order', () => {
    expect(
      fieldsWithNul({ a: 'x\0', b: 'ok', c: { d: ['y', '\0'] }, e: 1, f: null, g: '\0' }),
    ).toEqual(['a', 'c.d[1]', 'g']);
    expect(fieldsWithNul('\0')).toEqual(['value']);
    expect(fieldsWithNul({ ok: 'fine' })).toEqual([]);
  });

  it('walks a million levels without exhausting the stack', () => {
    const deep = nestedArrays(1_000_000) as unknown[][];
    expect(fieldsWithNul({ deep })).toEqual([]);
  });
});
