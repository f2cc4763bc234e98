// The service map: one row per unit with kind, health, replicas, restarts and back-off.
import { post } from './api.js';
import { duration, h, notify } from './dom.js';
import type { ConsoleSnapshot, UnitView } from '../source.js';
import { isKind, KINDS } from '../../service/kinds.js';


export function renderMap(tbody: HTMLElement, snap: ConsoleSnapshot): void {
  tbody.replaceChildren(...snap.units.map(row));
}

function row(u: UnitView): HTMLElement {
  const r = u.replicas;
  const scale = async (to: number) => {
    try {
      await post(`/api/units/${encodeURIComponent(u.name)}/scale`, { replicas: to });
      notify(`${u.name}: scaling to ${to}`);
    } catch (e) { notify(`${u.name}: ${(e as Error).message}`, 'error'); }
  };
  const replicas = (u.replicaList ?? []).map((p) => h('span', { class: `chip ${p.state}`, title: `${p.id} ${p.state}${p.pid ? ` pid ${p.pid}` : ''}, ${p.restarts} restarts` }, p.id));
  return h('tr', { 'data-unit': u.name, 'data-kind': u.kind },
    h('td', { class: 'name' }, u.name, u.port ? h('small', {}, ` :${u.port}`) : null),
    h('td', {}, h('span', { class: `kind ${u.kind}` }, u.kind)),
    h('td', {}, h('span', { class: `badge ${u.health}`, 'data-health': u.health }, u.health)),
    h('td', { class: 'replicas' }, h('b', {}, `${r.ready}/${r.desired}`), ` (${r.min}–${r.max})`, h('div', { class: 'chips' }, ...replicas)),
    h('td', { class: u.restarts ? 'warn' : '' }, u.restarts),
    h('td', {}, u.backoffMs === null ? '–' : h('span', { class: 'warn' }, `restart in ${duration(u.backoffMs)}`)),
    h('td', { class: 'actions' }, ...(isKind(u.kind) && KINDS[u.kind].longRunning ? [
      h('button', { title: 'one replica fewer', 'data-action': 'scale-down', disabled: r.desired <= r.min, onclick: () => void scale(r.desired - 1) }, '−'),
      h('button', { title: 'one replica more', 'data-action': 'scale-up', disabled: r.desired >= r.max, onclick: () => void scale(r.desired + 1) }, '+'),
    ] : [])),
  );
}
