// Crons (schedule, next fire time, last runs, "run now") and jobs (last runs, "run").
import { post } from './api.js';
import { clock, duration, h, notify } from './dom.js';
import type { ConsoleSnapshot, RunView, UnitView } from '../source.js';

export function renderTasks(root: HTMLElement, snap: ConsoleSnapshot): void {
  const crons = snap.units.filter((u) => u.kind === 'cron');
  const jobs = snap.units.filter((u) => u.kind === 'job');
  if (!crons.length && !jobs.length) { root.replaceChildren(h('p', { class: 'muted' }, 'no crons or jobs')); return; }
  root.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'unit'), h('th', {}, 'when'), h('th', {}, 'next'), h('th', {}, 'last runs'), h('th', {}))),
    h('tbody', {}, ...crons.map(cronRow), ...jobs.map(jobRow))));
}

async function run(kind: 'crons' | 'jobs', unit: string): Promise<void> {
  try {
    const r = await post<{ started: boolean; reason?: string }>(`/api/${kind}/${encodeURIComponent(unit)}/run`);
    notify(r.started ? `${unit}: run started` : `${unit}: not started: ${r.reason ?? 'skipped'}`, r.started ? 'info' : 'error');
  } catch (e) { notify(`${unit}: ${(e as Error).message}`, 'error'); }
}

function runs(unit: string, list: readonly RunView[]): HTMLElement {
  return h('ul', { class: 'runs', 'data-runs': unit }, ...list.slice(-5).reverse().map((r) => {
    const took = r.finishedAt ? duration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : 'running';
    return h('li', { class: `run ${r.status}`, 'data-status': r.status, title: `${r.trigger ?? ''} ${r.startedAt}${r.error ? `\n${r.error}` : ''}` },
      `${clock(r.startedAt)} ${r.status} (${took})${r.trigger === 'manual' ? ' manual' : ''}`);
  }));
}

function cronRow(u: UnitView): HTMLElement {
  const c = u.cron;
  const next = c?.nextRunAt ? `${clock(c.nextRunAt)} (in ${duration(Date.parse(c.nextRunAt) - Date.now())})` : '–';
  return h('tr', { 'data-cron': u.name },
    h('td', { class: 'name' }, u.name),
    h('td', {}, h('code', {}, c?.schedule ?? ''), c?.timezone ? h('small', {}, ` ${c.timezone}`) : null),
    h('td', { class: 'next' }, next),
    h('td', {}, runs(u.name, c?.lastRuns ?? [])),
    h('td', {}, h('button', { 'data-action': 'run-cron', 'data-unit': u.name, onclick: () => void run('crons', u.name) }, 'run now')));
}

function jobRow(u: UnitView): HTMLElement {
  return h('tr', { 'data-job': u.name },
    h('td', { class: 'name' }, u.name),
    h('td', {}, u.job?.runOn === 'deploy' ? 'on deploy' : 'manual'),
    h('td', {}, '–'),
    h('td', {}, runs(u.name, u.job?.lastRuns ?? [])),
    h('td', {}, h('button', { 'data-action': 'run-job', 'data-unit': u.name, onclick: () => void run('jobs', u.name) }, 'run')));
}
