// axe-core in the browser tests: the WCAG 2.0/2.1 A and AA rules run on the page as it is
// shown. The script is injected by CDP evaluation (`page.evaluate` of its source), which the
// pages' Content-Security-Policy does not apply to, so the pages need no exception for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The rule sets run: WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

/** Runs axe on the whole document (injecting it once per document) and answers its violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe);
  if (loaded === 'undefined') await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    interface AxeResult {
      violations: {
        id: string;
        impact?: string | null;
        help: string;
        nodes: { target: unknown[]; failureSummary?: string }[];
      }[];
    }
    const w = globalThis as unknown as {
      axe: { run(context: unknown, options: unknown): Promise<AxeResult> };
      document: unknown;
    };
    const result = await w.axe.run(w.document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      nodes: violation.nodes.map((node) => ({
        target: node.target.map(String).join(' '),
        summary: (node.failureSummary ?? '').replace(/\s+/g, ' ').trim(),
      })),
    }));
  }, WCAG_TAGS);
}

/** One line per failing element: rule id, impact, target and axe's summary. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .flatMap((violation) =>
      violation.nodes.map(
        (node) =>
          `${violation.id} (${violation.impact ?? 'no impact'}) at ${node.target}: ` +
          `${violation.help}. ${node.summary}`,
      ),
    )
    .join('\n');
}

/** Fails, with every violation described, when axe finds any on the page. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(
    describeViolations(violations),
    `axe (${WCAG_TAGS.join(', ')}) on ${label} (${page.url()})`,
  ).toBe('');
}
