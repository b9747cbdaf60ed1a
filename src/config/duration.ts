const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `90s`, `15m`, `12h`, `7d` into milliseconds; `undefined` when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9]\d*)([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_MS];
  return Number(amount) * UNIT_MS[unit];
}
