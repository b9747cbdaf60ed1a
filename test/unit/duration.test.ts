// Unit tests: the duration syntax of every *_TTL / *_AGE / *_RETENTION variable.
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['1s', 1_000],
    ['2s', 2_000],
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['3650d', 3650 * 86_400_000],
    [' 10s ', 10_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    's',
    '0s',
    '01s',
    '-5s',
    '1.5h',
    '10',
    '10ms',
    '10S',
    '1w',
    '1 h',
    '1h30m',
    'ten s',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
