// A small logic-less template language compiled once into a JavaScript function:
// `{{path}}` (HTML-escaped when compiled for HTML), `{{{path}}}` (raw),
// `{{#each path}}…{{/each}}` (`{{.}}`/`{{name}}` inside refer to the item), `{{#if path}}…{{/if}}`.
export type Render = (data: unknown) => string;

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const SPECIAL = /[&<>"']/;
export const escapeHtml = (v: unknown): string => {
  const s = String(v ?? '');
  return SPECIAL.test(s) ? s.replace(/[&<>"']/g, (c) => ESC[c]!) : s;
};
const plain = (v: unknown): string => String(v ?? '');

const PATH = /^(\.|[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*)$/;

export function compile(source: string, opts: { html: boolean }): Render {
  const tokens = source.split(/(\{\{\{[^}]+\}\}\}|\{\{[^}]+\}\})/);
  let code = 'let out = "";\n';
  const stack: string[] = [];
  let depth = 0;
  const ref = (path: string) => {
    const p = path.trim();
    if (!PATH.test(p)) throw new SyntaxError(`template: bad reference "${p}"`);
    if (p === '.') return `s${depth}`;
    return `s${depth}?.${p.split('.').join('?.')}`;
  };
  for (const t of tokens) {
    if (!t) continue;
    if (t.startsWith('{{{')) { code += `out += plain(${ref(t.slice(3, -3))});\n`; continue; }
    if (!t.startsWith('{{')) { code += `out += ${JSON.stringify(t)};\n`; continue; }
    const tag = t.slice(2, -2).trim();
    if (tag.startsWith('#each ')) {
      code += `for (const s${depth + 1} of (${ref(tag.slice(6))} ?? [])) {\n`;
      stack.push('each'); depth++;
    } else if (tag.startsWith('#if ')) {
      code += `if (${ref(tag.slice(4))}) {\n`;
      stack.push('if');
    } else if (tag === '/each' || tag === '/if') {
      if (stack.pop() !== tag.slice(1)) throw new SyntaxError(`template: unexpected {{${tag}}}`);
      if (tag === '/each') depth--;
      code += '}\n';
    } else {
      code += `out += ${opts.html ? 'esc' : 'plain'}(${ref(tag)});\n`;
    }
  }
  if (stack.length) throw new SyntaxError(`template: unclosed {{#${stack.pop()}}}`);
  const fn = new Function('esc', 'plain', 's0', `${code}return out;`) as (e: typeof escapeHtml, p: typeof plain, d: unknown) => string;
  return (data) => fn(escapeHtml, plain, data);
}
