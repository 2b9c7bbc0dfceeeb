// Federated rounds: queue rounds, watch per-round accuracy and bytes moved.
// moted (--fed CONFIG) owns the model and the defaults: GET /api/fed is its
// status, GET /api/fed/rounds the finished rounds (state done|failed) plus
// the open one, POST /api/fed/rounds queues rounds (202 {"round": first}).
import { can, get, list, post } from './api.js';
import { clear, field, fmtBytes, fmtTime, h, pct, table } from './dom.js';
import { barChart } from './chart.js';

function statusView(st) {
  if (!st) return '';
  const where = st.open ? `round ${st.round} open, ${st.received ?? 0} of ${st.roster ?? '?'} updates in`
    : st.round ? `idle after round ${st.round}` : 'no round yet';
  return h('p', { class: 'fed-status' }, `Coordinator: ${where}; rounds queued up to ${st.target ?? 0}; ` +
    `global version ${st.version ?? 0}; secure aggregation ${st.secure ? 'on' : 'off'}; ` +
    `accuracy ${pct(st.accuracy)}.`);
}

function roundRow(r) {
  return h('tr', { 'data-round': r.round, 'data-state': r.state },
    h('th', { scope: 'row' }, String(r.round)), h('td', {}, r.state || '—'),
    h('td', { class: 'num' }, `${r.reported ?? '—'} / ${r.clients ?? '—'}`),
    h('td', { class: 'num acc' }, r.state === 'open' ? '—' : pct(r.accuracy)),
    h('td', { class: 'num' }, fmtBytes(r.bytes_up)), h('td', { class: 'num' }, fmtBytes(r.bytes_down)),
    h('td', {}, fmtTime(r.started)), h('td', {}, fmtTime(r.finished)));
}

function roundsView(rounds) {
  if (!rounds.length) return h('p', { class: 'muted' }, 'No federated rounds yet.');
  const done = rounds.filter((r) => r.state === 'done' && r.accuracy !== undefined && r.accuracy !== null);
  return h('div', {},
    done.length ? barChart({ title: 'Global accuracy per round', bars: done.map((r) => ({ label: `#${r.round}`, value: Number(r.accuracy) })), max: 1, fmt: (v) => pct(v, 1) }) : '',
    table('Rounds', ['Round', 'State', 'Updates / clients', 'Accuracy', 'Bytes up', 'Bytes down', 'Started', 'Finished'],
      rounds.map(roundRow)));
}

// Only what the user filled in is sent: an empty field keeps moted's
// configured value (the server rejects out-of-range numbers, 400).
function roundRequest(e) {
  const body = { rounds: Number(e.rounds.value) || 1 };
  if (e.group.value.trim()) body.group = e.group.value.trim();
  for (const k of ['steps', 'min_clients']) if (e[k].value !== '') body[k] = Number(e[k].value);
  if (e.mu.value !== '') body.mu = Number(e.mu.value);
  if (e.secure.value) body.secure = e.secure.value === 'on';
  return body;
}

function roundForm() {
  const msg = h('p', { role: 'alert' });
  const asConfigured = { placeholder: 'as configured' };
  const f = h('form', { class: 'card', 'aria-labelledby': 'fl-h' }, h('h2', { id: 'fl-h' }, 'Start rounds'),
    h('p', { class: 'muted' }, 'The model and the defaults come from moted\'s federated configuration (--fed).'),
    field('fl-rounds', 'Rounds', h('input', { name: 'rounds', type: 'number', value: 1, min: 1, max: 1000 })),
    field('fl-group', 'Devices (group)', h('input', { name: 'group', ...asConfigured })),
    field('fl-steps', 'Local steps', h('input', { name: 'steps', type: 'number', min: 1, ...asConfigured })),
    field('fl-min', 'Minimum clients', h('input', { name: 'min_clients', type: 'number', min: 1, ...asConfigured })),
    field('fl-mu', 'FedProx μ', h('input', { name: 'mu', type: 'number', step: 'any', min: 0, ...asConfigured })),
    field('fl-secure', 'Secure aggregation', h('select', { name: 'secure' },
      h('option', { value: '' }, 'as configured'), h('option', { value: 'on' }, 'on'), h('option', { value: 'off' }, 'off'))),
    h('button', { type: 'submit', id: 'fl-start', disabled: !can('engineer') }, 'Start'), msg);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const body = roundRequest(f.elements);
      const r = await post('/api/fed/rounds', body);
      const last = r.round + body.rounds - 1;
      msg.className = 'ok';
      msg.textContent = body.rounds > 1 ? `Rounds ${r.round}–${last} queued.` : `Round ${r.round} queued.`;
    } catch (err) { msg.className = 'error'; msg.textContent = err.message; }
  });
  return f;
}

export async function federatedPage(root) {
  const box = h('div', { 'aria-live': 'polite' });
  root.append(h('h1', {}, 'Federated learning'), roundForm(), box);
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    try {
      const [st, rounds] = await Promise.all([get('/api/fed'), get('/api/fed/rounds')]);
      clear(box).append(statusView(st), roundsView(list(rounds, 'rounds')));
    } catch (e) {
      clear(box).append(h('p', { class: 'muted' }, e.status === 404 ? 'Federated learning is not enabled on this moted.' : e.message));
    }
    if (!stopped) timer = setTimeout(refresh, 2000);
  };
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
