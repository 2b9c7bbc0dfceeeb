// Federated rounds: start one, watch per-round accuracy and bytes moved.
import { can, get, list, post } from './api.js';
import { clear, field, fmtBytes, fmtTime, h, pct, table } from './dom.js';
import { barChart } from './chart.js';

function roundsView(rounds) {
  if (!rounds.length) return h('p', { class: 'muted' }, 'No federated rounds yet.');
  const done = rounds.filter((r) => r.accuracy !== undefined && r.accuracy !== null);
  return h('div', {},
    done.length ? barChart({ title: 'Global accuracy per round', bars: done.map((r) => ({ label: `#${r.round}`, value: Number(r.accuracy) })), max: 1, fmt: (v) => pct(v, 1) }) : '',
    table('Rounds', ['Round', 'State', 'Clients', 'Accuracy', 'Bytes up', 'Bytes down', 'Started'], rounds.map((r) =>
      h('tr', {}, h('th', { scope: 'row' }, String(r.round)), h('td', {}, r.state || '—'),
        h('td', { class: 'num' }, `${r.reported ?? r.clients_done ?? '—'} / ${r.clients ?? '—'}`),
        h('td', { class: 'num' }, pct(r.accuracy)), h('td', { class: 'num' }, fmtBytes(r.bytes_up)),
        h('td', { class: 'num' }, fmtBytes(r.bytes_down)), h('td', {}, fmtTime(r.started))))));
}

export async function federatedPage(root) {
  const box = h('div', { 'aria-live': 'polite' });
  const msg = h('p', { role: 'alert' });
  const f = h('form', { class: 'card', 'aria-labelledby': 'fl-h' }, h('h2', { id: 'fl-h' }, 'Start a round'),
    field('fl-model', 'Model (name@version)', h('input', { name: 'model', required: true })),
    field('fl-group', 'Devices (group)', h('input', { name: 'group' })),
    field('fl-steps', 'Local steps', h('input', { name: 'steps', type: 'number', value: 20, min: 1 })),
    field('fl-min', 'Minimum clients', h('input', { name: 'min_clients', type: 'number', value: 3, min: 1 })),
    field('fl-mu', 'FedProx μ', h('input', { name: 'mu', type: 'number', value: 0.01, step: 'any', min: 0 })),
    h('label', {}, h('input', { type: 'checkbox', name: 'secure', checked: true }), ' Secure aggregation'),
    h('button', { type: 'submit', disabled: !can('engineer') }, 'Start round'), msg);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const e = f.elements;
    try {
      const r = await post('/api/fed/rounds', { model: e.model.value, group: e.group.value || undefined, steps: Number(e.steps.value),
        min_clients: Number(e.min_clients.value), mu: Number(e.mu.value), secure: e.secure.checked });
      msg.className = 'ok';
      msg.textContent = `Round ${r.round} started.`;
    } catch (err) { msg.className = 'error'; msg.textContent = err.message; }
  });
  root.append(h('h1', {}, 'Federated learning'), f, box);
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    try {
      clear(box).append(roundsView(list(await get('/api/fed/rounds'), 'rounds')));
    } catch (e) {
      clear(box).append(h('p', { class: 'muted' }, e.status === 404 ? 'Federated learning is not enabled on this moted.' : e.message));
    }
    if (!stopped) timer = setTimeout(refresh, 2000);
  };
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
