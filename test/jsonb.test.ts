// JSON text for jsonb parameters: what PostgreSQL would refuse becomes U+FFFD (issue 13, fuzz).
import { describe, expect, it } from 'vitest';
import { jsonbText } from '../src/database/jsonb.js';

describe('jsonbText', () => {
  it('replaces lone surrogates and NUL, in values at any depth, with U+FFFD', () => {
    const text = jsonbText({ a: 'x\ud800y', b: ['\udfff', { c: 'n\u0000ul' }], d: '\udc00\ud800' });
    expect(text).not.toMatch(/\\u(d[89a-f][0-9a-f]{2}|0000)/i);
    expect(JSON.parse(text)).toEqual({
      a: 'x\ufffdy',
      b: ['\ufffd', { c: 'n\ufffdul' }],
      d: '\ufffd\ufffd',
    });
  });

  it('keeps everything else as JSON.stringify writes it, astral characters included', () => {
    const value = { emoji: '😀 pair \ud83d\ude00', n: 1, t: true, z: null, s: 'é\u200b' };
    expect(jsonbText(value)).toBe(JSON.stringify(value));
  });
});
