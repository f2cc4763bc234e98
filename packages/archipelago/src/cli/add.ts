// `archipelago add <kind> <name>`: appends a unit to the config's `units` list (as text, so the
// file keeps its formatting and comments) and creates the unit's entry file from a template.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { findConfig, importConfig } from '../service/load.js';
import { validateService } from '../service/validate.js';
import type { ResolvedService } from '../service/types.js';
import { parseArgs, type Command } from './main.js';
import { entryPathFor, entryTemplate, unitLiteral, type AddableKind } from './templates.js';
import { KIND_NAMES, KINDS } from '../service/kinds.js';

const ADDABLE: readonly AddableKind[] = KIND_NAMES;

const command: Command = {
  summary: 'add a unit: append it to archipelago.config.ts and create its entry file',
  usage: `archipelago add <kind> <name> [--config <file>] [--port <port>] [--tables a,b (cdc)]

  kinds: ${ADDABLE.join(', ')}`,
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string', port: 'string', tables: 'string' });
    const [kind, name] = positionals;
    if (!kind || !name || positionals.length > 2) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    if (!ADDABLE.includes(kind as AddableKind)) throw new ArchipelagoError('ARCH_E_UNKNOWN_KIND', `cannot add a unit of kind "${kind}" (kinds: ${ADDABLE.join(', ')})`);
    const configPath = findConfig(opts.config as string | undefined);
    const root = path.dirname(configPath);
    const current = await resolved(configPath);
    if (current.units.some((u) => u.name === name)) throw new ArchipelagoError('ARCH_E_DUPLICATE_UNIT', `unit "${name}" already exists in ${configPath}`);
    const entry = entryPathFor(kind as AddableKind, name);
    if (entry && existsSync(path.join(root, entry))) throw new ArchipelagoError('ARCH_E_DUPLICATE_UNIT', `${entry} already exists; choose another name`);
    const tables = typeof opts.tables === 'string' ? opts.tables.split(',').map((t) => t.trim()).filter(Boolean) : [];
    if (kind === 'cdc' && tables.length === 0) throw new ArchipelagoError('ARCH_E_USAGE', 'a cdc unit needs the tables whose changes it publishes: --tables posts,comments');
    let port: number | undefined;
    if (KINDS[kind as AddableKind].listens) {
      const used = current.units.flatMap((u) => ('port' in u ? [u.port] : []));
      port = opts.port !== undefined ? Number(opts.port) : Math.max(2999, ...used) + 1;
    }
    const original = readFileSync(configPath, 'utf8');
    const updated = appendUnit(original, unitLiteral(kind as AddableKind, name, port, '', tables));
    if (entry) {
      mkdirSync(path.dirname(path.join(root, entry)), { recursive: true });
      writeFileSync(path.join(root, entry), entryTemplate(kind as Exclude<AddableKind, 'cdc'>, name));
    }
    writeFileSync(configPath, updated);
    // The result must still validate; otherwise leave the project as it was.
    // A query string makes the module loader read the changed file instead of its cached copy.
    const fresh = await importConfig(configPath, true).catch(() => undefined);
    const check = validateService(fresh, { root, configPath });
    if (check.errors.length > 0) {
      writeFileSync(configPath, original);
      if (entry) rmSync(path.join(root, entry), { force: true });
      throw new ArchipelagoError(check.errors[0]!.code, `adding "${name}" would make the config invalid: ${check.errors.map((e) => e.message).join('; ')}`);
    }
    console.log(`added ${kind} unit "${name}": ${path.relative(process.cwd(), configPath) || configPath}${entry ? ` and ${entry}` : ` (changes of ${tables.join(', ')})`}`);
    return 0;
  },
};
export default command;

async function resolved(configPath: string): Promise<ResolvedService> {
  const r = validateService(await importConfig(configPath), { root: path.dirname(configPath), configPath });
  if (!r.service) throw new ArchipelagoError('ARCH_E_CONFIG_INVALID', `fix ${configPath} before adding a unit: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.service;
}

/** Inserts `literal` before the `]` that closes the `units: [` list, matching the list's indentation. */
export function appendUnit(source: string, literal: string): string {
  const m = /\bunits\s*:\s*\[/.exec(source);
  if (!m) throw new ArchipelagoError('ARCH_E_CONFIG_INVALID', 'cannot find the `units: [` list in the config; add the unit by hand');
  const open = m.index + m[0].length - 1;
  // Scan to the matching bracket, skipping strings and comments; remember the last code character.
  let depth = 0, quote: string | undefined, close = -1, last = open;
  for (let i = open; i < source.length; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      last = i;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') { i = source.indexOf('\n', i); if (i < 0) break; continue; }
    if (c === '/' && source[i + 1] === '*') { i = source.indexOf('*/', i + 2) + 1; if (i <= 0) break; continue; }
    if (c === '\'' || c === '"' || c === '`') quote = c;
    else if (c === '[' || c === '{' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === ')') { depth--; if (depth === 0) { close = i; break; } }
    if (!/\s/.test(c)) last = i;
  }
  if (close < 0) throw new ArchipelagoError('ARCH_E_CONFIG_INVALID', 'cannot find the end of the `units` list in the config; add the unit by hand');
  const inner = source.slice(open + 1, close);
  const indent = /\n([ \t]+)\S/.exec(inner)?.[1] ?? '    ';
  const comma = source[last] === ',' || source[last] === '[' ? '' : ',';
  const head = source.slice(0, last + 1) + comma + source.slice(last + 1, close).replace(/\s*$/, '');
  const closingIndent = /\n([ \t]*)$/.exec(source.slice(0, close))?.[1] ?? '  ';
  const body = literal.split('\n').map((l) => indent + l).join('\n');
  return `${head}\n${body}\n${closingIndent}${source.slice(close)}`;
}
