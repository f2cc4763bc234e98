// Topics and subscriptions (backlog, oldest age, dead letters) and the dead-letter inspector
// with replay and purge.
import { get, post } from './api.js';
import { byId, clock, duration, h, notify } from './dom.js';
import type { TopicView } from '../source.js';

interface DeadLetterJson { id: string; subscription: string; topic: string; payload: unknown; error: string; attempts: number; publishedAt: string; failedAt: string }

let open: { sub: string; selected?: string; count?: number } | undefined;

export function renderTopics(tbody: HTMLElement, topics: readonly TopicView[], error: string | null): void {
  const err = byId('topics-error');
  err.hidden = !error;
  err.textContent = error ? `broker: ${error}` : '';
  const rows: HTMLElement[] = [];
  for (const t of topics) {
    if (!t.subscriptions.length) rows.push(h('tr', { 'data-topic': t.topic }, h('td', {}, t.topic), h('td', { class: 'muted', colspan: 6 }, 'no subscriptions')));
    for (const s of t.subscriptions) {
      rows.push(h('tr', { 'data-sub': s.subscription, class: open?.sub === s.subscription ? 'selected' : '' },
        h('td', {}, t.topic), h('td', { class: 'name' }, s.subscription), h('td', {}, s.unit),
        h('td', { class: 'num backlog' }, s.backlog), h('td', { class: 'num' }, duration(s.oldestAgeMs)),
        h('td', { class: `num dead ${s.deadLetters ? 'warn' : ''}` }, s.deadLetters),
        h('td', {}, h('button', { class: 'inspect', 'data-action': 'inspect', onclick: () => void inspect(s.subscription) }, 'dead letters'))));
    }
  }
  if (!rows.length) rows.push(h('tr', {}, h('td', { class: 'muted', colspan: 7 }, 'no topics')));
  tbody.replaceChildren(...rows);
  // Keep an open inspector in step with the live count, without redrawing it every second.
  const total = topics.flatMap((t) => t.subscriptions).find((s) => s.subscription === open?.sub)?.deadLetters;
  const count = total === undefined ? undefined : Math.min(total, 100);
  if (open && count !== undefined && count !== open.count) void inspect(open.sub, open.selected, true);
}

async function inspect(sub: string, selected?: string, quiet = false): Promise<void> {
  open = { sub, selected };
  const panel = byId('dlq');
  panel.hidden = false;
  let letters: DeadLetterJson[];
  try {
    letters = await get<DeadLetterJson[]>(`/api/dlq/${encodeURIComponent(sub)}?limit=100`);
  } catch (e) {
    if (!quiet) notify(`${sub}: ${(e as Error).message}`, 'error');
    return;
  }
  if (open?.sub !== sub) return;
  open.count = letters.length;
  const detail = letters.find((l) => l.id === selected) ?? letters[0];
  open.selected = detail?.id;
  panel.replaceChildren(
    h('div', { class: 'dlq-head' },
      h('h3', {}, `Dead letters of ${sub}`, h('small', {}, ` ${letters.length}${letters.length === 100 ? '+' : ''}`)),
      h('button', { 'data-action': 'replay-all', disabled: !letters.length, onclick: () => void act(sub, 'replay') }, 'replay all'),
      h('button', { 'data-action': 'purge-all', class: 'danger', disabled: !letters.length, onclick: () => void act(sub, 'purge') }, 'purge all'),
      h('button', { onclick: () => { open = undefined; panel.hidden = true; } }, 'close')),
    letters.length === 0 ? h('p', { class: 'muted' }, 'no dead letters') : h('div', { class: 'dlq-body' },
      h('ul', { class: 'dlq-list' }, ...letters.map((l) => h('li', {
        class: `dead-letter ${l.id === detail?.id ? 'selected' : ''}`, 'data-id': l.id,
        onclick: () => void inspect(sub, l.id),
      }, `${clock(l.failedAt)} · ${l.attempts}× · ${l.error.slice(0, 60)}`))),
      detail ? h('div', { class: 'dlq-detail', 'data-id': detail.id },
        h('dl', {},
          h('dt', {}, 'id'), h('dd', {}, h('code', {}, detail.id)),
          h('dt', {}, 'topic'), h('dd', {}, detail.topic),
          h('dt', {}, 'attempts'), h('dd', { class: 'attempts' }, detail.attempts),
          h('dt', {}, 'published'), h('dd', {}, new Date(detail.publishedAt).toLocaleString()),
          h('dt', {}, 'failed'), h('dd', {}, new Date(detail.failedAt).toLocaleString()),
          h('dt', {}, 'last error'), h('dd', {}, h('pre', { class: 'error last-error' }, detail.error))),
        h('pre', { class: 'payload' }, JSON.stringify(detail.payload, null, 2)),
        h('button', { 'data-action': 'replay', onclick: () => void act(sub, 'replay', [detail.id]) }, 'replay'),
        h('button', { 'data-action': 'purge', class: 'danger', onclick: () => void act(sub, 'purge', [detail.id]) }, 'purge')) : null));
}

async function act(sub: string, what: 'replay' | 'purge', ids?: string[]): Promise<void> {
  if (what === 'purge' && !confirm(ids ? `Delete dead letter ${ids[0]} for good?` : `Delete every dead letter of ${sub} for good?`)) return;
  try {
    const { count } = await post<{ count: number }>(`/api/dlq/${encodeURIComponent(sub)}/${what}`, ids ? { ids } : {});
    notify(`${sub}: ${what === 'replay' ? 'replayed' : 'purged'} ${count}`);
  } catch (e) {
    notify(`${sub}: ${(e as Error).message}`, 'error');
  }
  await inspect(sub);
}
