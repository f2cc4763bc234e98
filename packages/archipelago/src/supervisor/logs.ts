// Multiplexes the output of every child into one stream: a coloured `unit/replica` prefix and pino
// JSON lines rendered as `time level msg fields`, or the raw JSON lines with `--json`.
import type { Readable } from 'node:stream';
import pc from 'picocolors';
import type { LogLine, SupervisorState } from './state.js';

export interface LogOptions {
  json: boolean;
  /** Colours on unless NO_COLOR is set or the output is not a terminal. */
  color?: boolean;
  write?: (text: string) => void;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'unit', 'replica', 'v']);

export class LogMux {
  private readonly colors: ReturnType<typeof pc.createColors>;
  private readonly palette: ((s: string) => string)[];
  private readonly unitColor = new Map<string, (s: string) => string>();
  private readonly write: (text: string) => void;
  private width = 12;

  constructor(private readonly state: SupervisorState, private readonly opts: LogOptions) {
    const color = opts.color ?? (!('NO_COLOR' in process.env) && process.stdout.isTTY === true);
    this.colors = pc.createColors(color);
    const c = this.colors;
    this.palette = [c.cyan, c.magenta, c.yellow, c.green, c.blue, c.red, c.gray];
    this.write = opts.write ?? ((t) => process.stdout.write(t));
  }

  /** Follows a child's output line by line until it ends. */
  attach(stream: Readable | null | undefined, unit: string, replica: string, kind: 'stdout' | 'stderr'): void {
    if (!stream) return;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.line(unit, replica, kind, line);
      }
    });
    stream.on('end', () => { if (buf.trim()) this.line(unit, replica, kind, buf); buf = ''; });
  }

  /** A line from the supervisor itself. */
  info(msg: string, fields: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ level: 30, time: Date.now(), msg, ...fields });
    this.line('supervisor', 'supervisor', 'supervisor', line);
  }

  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.line('supervisor', 'supervisor', 'supervisor', JSON.stringify({ level: 40, time: Date.now(), msg, ...fields }));
  }

  line(unit: string, replica: string, stream: LogLine['stream'], line: string): void {
    this.state.log({ at: new Date().toISOString(), unit, replica, stream, line });
    if (this.opts.json) {
      // Keep JSON output machine-readable: wrap non-JSON text so every output line parses.
      const isJson = line.startsWith('{') && safeParse(line) !== undefined;
      this.write((isJson ? line : JSON.stringify({ level: stream === 'stderr' ? 50 : 30, time: Date.now(), unit, replica, msg: line })) + '\n');
      return;
    }
    this.write(`${this.prefix(unit, replica)} ${this.render(line)}\n`);
  }

  private prefix(unit: string, replica: string): string {
    let colour = this.unitColor.get(unit);
    if (!colour) {
      colour = unit === 'supervisor' ? this.colors.bold : this.palette[this.unitColor.size % this.palette.length]!;
      this.unitColor.set(unit, colour);
    }
    const label = unit === 'supervisor' ? 'archipelago' : replica.startsWith(`${unit}-`) ? `${unit}/${replica.slice(unit.length + 1)}` : `${unit}/${replica}`;
    this.width = Math.max(this.width, label.length);
    return colour(label.padEnd(this.width)) + this.colors.dim(' │');
  }

  private render(line: string): string {
    const obj = line.startsWith('{') ? safeParse(line) : undefined;
    if (!obj || typeof obj !== 'object') return line;
    const c = this.colors;
    const o = obj as Record<string, unknown>;
    const at = typeof o.time === 'number' || typeof o.time === 'string' ? new Date(o.time) : undefined;
    const time = at && !Number.isNaN(at.getTime()) ? at.toISOString().slice(11, 23) : '';
    const level = typeof o.level === 'number' ? LEVELS[o.level] ?? String(o.level) : String(o.level ?? '');
    const lc = o.level as number >= 50 ? c.red : o.level as number >= 40 ? c.yellow : o.level as number <= 20 ? c.gray : c.green;
    const extra = Object.entries(o).filter(([k]) => !OMIT.has(k)).map(([k, v]) => `${c.dim(k + '=')}${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return [c.dim(time), lc(level.padEnd(5)), String(o.msg ?? ''), ...extra].filter(Boolean).join(' ');
  }
}

function safeParse(s: string): unknown {
  try { return JSON.parse(s); } catch { return undefined; }
}
