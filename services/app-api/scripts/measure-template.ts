// Measures rendering one digest: the compiled template (src/templates) against a hand-written
// template function and against interpreting the template string on every render.
import { readFileSync } from 'node:fs';
import { compile, escapeHtml } from '../src/domain/template.js';

const source = readFileSync(new URL('../src/templates/digest.html', import.meta.url), 'utf8');
const data = {
  username: 'ada', week: '2026-W49', settingsUrl: 'http://localhost:3000/docs',
  posts: Array.from({ length: 10 }, (_, i) => ({ title: `Post <${i}> & more`, link: `http://localhost:3000/posts/${i}`, author: 'alan', upvotes: i * 7, comments: i, tagList: '#ts #db' })),
};
type D = typeof data;
const hand = (d: D) => `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; max-width: 640px; margin: auto">
<h1>Your week on app-api</h1>
<p>Hi ${escapeHtml(d.username)}, here are the top posts of week ${escapeHtml(d.week)} in the tags you follow.</p>
<ol>
${d.posts.map((p) => `  <li><a href="${escapeHtml(p.link)}">${escapeHtml(p.title)}</a> by ${escapeHtml(p.author)}<br><small>${p.upvotes} upvotes · ${p.comments} comments · ${escapeHtml(p.tagList)}</small></li>\n`).join('')}</ol>
<p><small>You get this because you opted in. <a href="${escapeHtml(d.settingsUrl)}">Change digest settings</a>.</small></p>
</body></html>
`;
const compiled = compile(source, { html: true });
const interpreted = (d: D) => compile(source, { html: true })(d);
if (hand(data) !== compiled(data)) throw new Error('hand-written and compiled output differ');

const N = 50_000;
for (const [name, fn] of [['compiled once', compiled], ['hand-written', hand], ['compiled per render', interpreted]] as const) {
  for (let i = 0; i < 2000; i++) fn(data);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fn(data);
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(20)} ${(ms * 1000 / N).toFixed(1)} µs/render  ${Math.round(N / (ms / 1000)).toLocaleString('en')} renders/s`);
}
