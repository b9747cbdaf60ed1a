// The module boundaries of `src/`, read from the import statements (type-only imports
// included: an arrow is an arrow). No circle between files; `common/`, `database/`,
// `config/` and `logging/` are the foundation and import no feature module; the global
// guards are registered in one place.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** file (relative to src/) → the src/ files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(SRC, resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected components with more than one file, or a file importing itself. */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const FOUNDATION = ['common', 'database', 'config', 'logging'];
const area = (file: string): string => file.split('/')[0].replace(/\.ts$/, '');

/** Arrows from a foundation file to a file outside the foundation. */
function upwardArrows(graph: Map<string, string[]>): string[] {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    if (!FOUNDATION.includes(area(file))) continue;
    for (const t of targets) {
      if (!FOUNDATION.includes(area(t))) upward.push(`${file} → ${t}`);
    }
  }
  return upward;
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('is read from every file (the test sees the code)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('app.module.ts')).toContain('auth/auth.module.ts');
  });

  it('has no circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('has no arrow from common/, database/, config/ or logging/ up to a feature', () => {
    expect(upwardArrows(graph)).toEqual([]);
  });

  it('finds a planted circle and an upward arrow (the checks can fail)', () => {
    const planted = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
      ['common/x.ts', ['common/y.ts', 'users/z.ts']],
      ['common/y.ts', []],
    ]);
    expect(circles(planted)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(upwardArrows(planted)).toEqual(['common/x.ts → users/z.ts']);
  });

  it('registers the global guards in app.module.ts only, in one list', () => {
    const registering = [...graph.keys()].filter((file) =>
      /provide:\s*APP_GUARD/.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(registering).toEqual(['app.module.ts']);
  });
});
