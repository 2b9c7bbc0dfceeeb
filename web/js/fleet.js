// Fleet map: every device with health, model and twin, searched, filtered
// and paged on the server (10,000 devices are never loaded at once), kept
// current by live events.
import { get, list } from './api.js';
import { announce, clear, field, fmtTime, h, table } from './dom.js';
import { deviceOf, isFault, summary } from './events.js';
import { follow } from './stream.js';

const state = { q: '', health: '', group: '', offset: 0, limit: 50, total: 0 };

// moted derives each row's health (offline, anomaly, drift or online, from
// last_seen and the latest event); an older moted sends none: a device
// reporting a fault says so (live events, the twin's health), else it is
// online when heard from in the last 5 minutes.
export function healthOf(d) {
  const hl = d.health;
  const v = typeof hl === 'string' ? hl : hl && (hl.status || hl.state || hl.level);
  if (v) return v;
  if (!d.last_seen) return 'unknown';
  return Date.now() - Number(d.last_seen) < 5 * 60 * 1000 ? 'online' : 'offline';
}

export function healthBadge(v) {
  const cls = /^(ok|healthy|good|online)$/i.test(v) ? 'ok' : /^(offline|unknown|warn|stale)/i.test(v) ? 'warn' : 'bad';
  return h('span', { class: `badge ${cls}` }, v);
}

const modelText = (m, v) => (m ? `${m}@${v ?? '?'}` : '—');

function twinCell(d) {
  const want = modelText(d.desired_model, d.desired_version);
  const have = modelText(d.model, d.version);
  const same = want === '—' || want === have;
  return h('td', {}, h('span', { class: same ? 'ok' : 'warn' }, same ? 'in sync' : 'pending'),
    ' ', h('span', { class: 'muted' }, `desired ${want}, reported ${have}`));
}

function row(d) {
  const id = d.id || d.device;
  return h('tr', { 'data-device': id },
    h('th', { scope: 'row' }, h('a', { href: `#/devices/${encodeURIComponent(id)}` }, id)),
    h('td', {}, d.class || d.device_class || '—'),
    h('td', {}, d.grp || d.group || '—'),
    h('td', { class: 'health' }, healthBadge(healthOf(d))),
    h('td', {}, modelText(d.model, d.version)),
    twinCell(d),
    h('td', {}, fmtTime(d.last_seen)),
    h('td', { class: 'last-event' }, d.last_event ? summary(d.last_event) : '—'));
}

function query() {
  const p = new URLSearchParams({ offset: state.offset, limit: state.limit });
  if (state.q) p.set('q', state.q);
  if (state.health) p.set('health', state.health);
  if (state.group) p.set('group', state.group);
  return `/api/devices?${p}`;
}

async function load(body, pager) {
  const data = await get(query());
  const devices = list(data, 'devices');
  const total = Number(data && (data.total ?? data.count)) || devices.length;
  clear(body).append(...devices.map(row));
  const first = devices.length ? state.offset + 1 : 0;
  pager.info.textContent = `Devices ${first}–${state.offset + devices.length} of ${total}`;
  state.total = total;
  pager.prev.disabled = pager.first.disabled = state.offset === 0;
  pager.next.disabled = pager.last.disabled = state.offset + devices.length >= total;
  announce(pager.info.textContent);
}

function toolbar(reload) {
  const q = h('input', { type: 'search', value: state.q, placeholder: 'id, class or group' });
  const health = h('select', {}, ['', 'anomaly', 'drift', 'offline', 'online'].map((v) =>
    h('option', { value: v, selected: v === state.health }, v || 'any')));
  const group = h('input', { type: 'text', value: state.group, placeholder: 'e.g. plant-3' });
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Find devices' },
    h('div', {}, field('f-q', 'Search devices (id, class, group)', q)),
    h('div', {}, field('f-health', 'Health', health)),
    h('div', {}, field('f-group', 'Group (and its subgroups)', group)),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(state, { q: q.value.trim(), health: health.value, group: group.value.trim(), offset: 0 });
    reload();
  });
  return form;
}

function pagerBar(reload) {
  const info = h('span', { 'aria-live': 'polite' });
  const first = h('button', { type: 'button', class: 'secondary' }, 'First page');
  const prev = h('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = h('button', { type: 'button', class: 'secondary' }, 'Next page');
  const last = h('button', { type: 'button', class: 'secondary' }, 'Last page');
  first.addEventListener('click', () => { state.offset = 0; reload(); });
  prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); reload(); });
  next.addEventListener('click', () => { state.offset += state.limit; reload(); });
  last.addEventListener('click', () => {
    state.offset = Math.max(0, Math.floor((state.total - 1) / state.limit) * state.limit);
    reload();
  });
  return { el: h('div', { class: 'pager' }, first, prev, info, next, last), info, first, prev, next, last };
}

// A new event updates its device's row (if on this page) and the feed.
function onEvent(e, body, feed, liveState) {
  const dev = deviceOf(e);
  const tr = body.querySelector(`tr[data-device="${CSS.escape(dev)}"]`);
  if (tr) {
    tr.querySelector('.last-event').textContent = summary(e);
    if (isFault(e)) clear(tr.querySelector('.health')).append(healthBadge(e.kind || 'anomaly'));
  }
  feed.prepend(h('li', {}, h('a', { href: `#/devices/${encodeURIComponent(dev)}` }, dev), `: ${summary(e)} `,
    h('span', { class: 'muted' }, fmtTime(e.ts || (e.body && e.body.ts)))));
  while (feed.children.length > 20) feed.lastChild.remove();
  liveState.textContent = 'live';
}

export async function fleetPage(root) {
  const body = h('tbody');
  const liveState = h('span', { class: 'badge muted' }, 'connecting');
  const feed = h('ol', { 'aria-label': 'Latest events', reversed: true });
  let pager;
  const reload = () => load(body, pager).catch((e) => { pager.info.textContent = `Cannot load devices: ${e.message}`; });
  pager = pagerBar(reload);
  const tbl = table('Devices (server-side paging)', ['Device', 'Class', 'Group', 'Health', 'Model', 'Twin', 'Last seen', 'Last event'], []);
  tbl.querySelector('tbody').replaceWith(body);
  root.append(h('h1', {}, 'Fleet'), toolbar(reload), pager.el, tbl,
    h('h2', {}, 'Live events ', liveState), feed);
  await reload();
  return follow((e) => onEvent(e, body, feed, liveState), (s) => { liveState.textContent = s; });
}
