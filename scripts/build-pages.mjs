// Second half of `npm run build:pages` (tsc compiles pages/src first): writes the pages
// into dist/public, next to their compiled scripts, so dist/ alone runs.
//
// Each pages/public/*.html holds one page's <main> under a first line
//   <!-- page title="..." script="..." header="public|app" -->
// and is wrapped here in pages/layout/page.html (the <head>, the skip link) with the
// header it names (pages/layout/header-*.html); in the app header the link to the page
// itself is marked current. Every other file (CSS, icon) is copied as it is.
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'pages/public');
const target = join(root, 'dist/public');
const layoutDir = join(root, 'pages/layout');
const read = (path) => readFileSync(path, 'utf8');

const DIRECTIVE = /^<!-- page((?:\s+[a-z]+="[^"]*")+)\s*-->\n/;
const ATTRIBUTE = /([a-z]+)="([^"]*)"/g;

cpSync(source, target, { recursive: true, filter: (path) => !path.endsWith('.html') });

const layout = read(join(layoutDir, 'page.html'));
for (const file of readdirSync(source).filter((name) => name.endsWith('.html'))) {
  const text = read(join(source, file));
  const match = DIRECTIVE.exec(text);
  if (!match) throw new Error(`pages/public/${file}: the first line must be <!-- page ... -->`);
  const page = Object.fromEntries([...match[1].matchAll(ATTRIBUTE)].map(([, k, v]) => [k, v]));
  for (const required of ['title', 'script', 'header']) {
    if (!page[required]) throw new Error(`pages/public/${file}: no ${required}="..."`);
  }
  const self = `/${file.replace(/\.html$/, '')}`;
  const header = read(join(layoutDir, `header-${page.header}.html`)).replace(
    `<a class="nav-link" href="${self}">`,
    `<a class="nav-link active" aria-current="page" href="${self}">`,
  );
  const html = fill(layout, {
    title: escapeHtml(page.title),
    script: escapeHtml(page.script),
    header,
    main: text.slice(match[0].length),
  });
  writeFileSync(join(target, file), html);
}

/**
 * Replaces each `<!-- name -->` line with a block, indented as the comment is (comments,
 * because Prettier keeps them on their own lines), and each `{{name}}` with a value.
 */
function fill(template, values) {
  return template
    .replace(/^( *)<!-- (\w+) -->\n/gm, (_, indent, name) =>
      value(values, name)
        .trimEnd()
        .split('\n')
        .map((line) => (line ? indent + line : line))
        .join('\n')
        .concat('\n'),
    )
    .replace(/\{\{(\w+)\}\}/g, (_, name) => value(values, name));
}

function value(values, name) {
  if (!(name in values)) throw new Error(`pages/layout/page.html: nothing for ${name}`);
  return values[name];
}

function escapeHtml(text) {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
