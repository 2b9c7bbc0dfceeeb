// Campaigns: pick a model and a target, check compatibility, start a
// staged rollout, watch its waves, abort it.
import { can, get, list, post } from './api.js';
import { announce, clear, field, fmtTime, h, table } from './dom.js';

function targetOf(c) {
  const t = c.target || {};
  if (t.group) return `group ${t.group}`;
  if (t.class) return `class ${t.class}`;
  if (Array.isArray(t.devices)) return `${t.devices.length} listed devices`;
  return typeof t === 'string' ? t : '—';
}

function campaignList(rows) {
  if (!rows.length) return h('p', { class: 'muted' }, 'No campaigns yet.');
  return table('Campaigns', ['Campaign', 'Model', 'Target', 'State', 'Stage', 'Created'], rows.map((c) =>
    h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/campaigns/${encodeURIComponent(c.id)}` }, c.id)),
      h('td', {}, `${c.model}@${c.version}`), h('td', {}, targetOf(c)), h('td', {}, c.state),
      h('td', {}, String(c.stage ?? '—')), h('td', {}, fmtTime(c.created)))));
}

function buildSpec(f) {
  const [model, version] = f.elements.model.value.split('@');
  const kind = f.elements.kind.value;
  const val = f.elements.target.value.trim();
  const target = kind === 'devices' ? { devices: val.split(/[\s,]+/).filter(Boolean) } : { [kind]: val };
  return {
    model, version: Number(version), target,
    stages: f.elements.stages.value.split(',').map((x) => Number(x.trim())).filter((x) => x > 0),
    max_fail_pct: Number(f.elements.max_fail_pct.value), stage_timeout_s: Number(f.elements.stage_timeout_s.value),
  };
}

// Without the graph's check, the device class decides (moted refuses a
// listed device of another class and leaves such devices out of a group).
async function classCheck(spec, target) {
  if (spec.target.class) {
    const good = spec.target.class === target;
    return { rows: [{ id: `class ${spec.target.class}`, compatible: good, reasons: good ? [] : [`the model targets class ${target}`] }] };
  }
  if (!spec.target.devices) return { rows: [], note: `Devices of the group that are not of class ${target} will be left out.` };
  const rows = await Promise.all(spec.target.devices.slice(0, 100).map(async (id) => {
    try {
      const d = await get(`/api/devices/${encodeURIComponent(id)}`);
      const good = d.class === target;
      return { id, compatible: good, reasons: good ? [] : [`device class ${d.class || 'unknown'}, the model targets ${target}`] };
    } catch (e) {
      return { id, compatible: false, reasons: [e.status === 404 ? 'unknown device' : e.message] };
    }
  }));
  return { rows };
}

// Both checks: the device class (what moted enforces) and, when moted has
// a knowledge graph, its verdict (arena, flash, operators, sensors).
async function checkCompat(spec, target, cardVersion, box) {
  clear(box);
  const { rows, note } = await classCheck(spec, target);
  let graph = null;
  try {
    if (cardVersion) graph = list(await get(`/api/compat?model=${encodeURIComponent(`${spec.model}@${cardVersion}`)}`), 'devices');
  } catch { /* no graph on this moted */ }
  if (graph && spec.target.devices) {
    const by = new Map(graph.map((g) => [g.id, g]));
    for (const r of rows) {
      const g = by.get(r.id);
      if (g && (g.reasons || []).length) { r.compatible = false; r.reasons = r.reasons.concat(g.reasons); }
    }
  } else if (graph) {
    rows.push(...graph.filter((g) => !g.compatible).slice(0, 50));
  }
  const bad = rows.filter((x) => !(x.compatible ?? !(x.reasons || []).length));
  box.append(h('p', { class: bad.length ? 'warn' : 'ok' },
    `${graph ? 'Device class and knowledge-graph check' : 'Device-class check (no knowledge graph)'}: `,
    rows.length ? `${rows.length - bad.length} compatible, ${bad.length} incompatible. ` : '', note || ''),
  bad.length ? h('ul', { 'aria-label': 'Incompatible' }, bad.map((x) => h('li', {}, `${x.id || x.device}: ${(x.reasons || []).join('; ')}`))) : '');
}

function newForm(models, onCreated) {
  const model = h('select', { name: 'model' }, models.map((m) =>
    h('option', { value: `${m.name}@${m.version}`, 'data-target': m.target, 'data-card-version': m.card?.version || '' },
      `${m.name}@${m.version} (target ${m.target})`)));
  const kind = h('select', { name: 'kind' }, [['group', 'Group'], ['class', 'Device class'], ['devices', 'Device list']].map(([v, t]) => h('option', { value: v }, t)));
  const f = h('form', { class: 'card', 'aria-labelledby': 'c-new-h' },
    h('h2', { id: 'c-new-h' }, 'New campaign'),
    field('c-model', 'Model', model), field('c-kind', 'Target by', kind),
    field('c-target', 'Target (group, class, or device ids separated by spaces)', h('input', { name: 'target', required: true })),
    field('c-stages', 'Stages (cumulative % of targets)', h('input', { name: 'stages', value: '10,50,100' })),
    field('c-fail', 'Abort when more than this % fail', h('input', { name: 'max_fail_pct', type: 'number', value: 10, min: 0, max: 100 })),
    field('c-timeout', 'Stage timeout (s)', h('input', { name: 'stage_timeout_s', type: 'number', value: 120, min: 1 })),
    h('div', {}, h('button', { type: 'button', class: 'secondary', id: 'c-check' }, 'Check compatibility'),
      h('button', { type: 'submit', id: 'c-start' }, 'Start rollout')),
    h('div', { id: 'c-compat', 'aria-live': 'polite' }), h('p', { id: 'c-msg', role: 'alert' }));
  const msg = f.querySelector('#c-msg');
  f.querySelector('#c-check').addEventListener('click', () =>
    checkCompat(buildSpec(f), model.selectedOptions[0]?.dataset.target, model.selectedOptions[0]?.dataset.cardVersion,
      f.querySelector('#c-compat')));
  if (!can('engineer')) { f.querySelector('#c-start').disabled = true; f.querySelector('#c-start').title = 'Needs the engineer role'; }
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await post('/api/campaigns', buildSpec(f));
      msg.className = 'ok';
      msg.textContent = `Campaign ${r.id} started.`;
      onCreated(r.id);
    } catch (e) {
      msg.className = 'error';
      msg.textContent = `Refused: ${e.message}`;
    }
  });
  return f;
}

function waves(c, devices) {
  const stages = Array.isArray(c.stages) ? c.stages : [];
  const by = new Map();
  for (const d of devices) {
    const k = Number(d.stage ?? 0);
    if (!by.has(k)) by.set(k, {});
    const s = by.get(k);
    s[d.state] = (s[d.state] || 0) + 1;
  }
  const keys = [...by.keys()].sort((a, b) => a - b);
  return table('Waves', ['Wave', 'Share of targets', 'Devices by state'], keys.map((k) =>
    h('tr', {}, h('th', { scope: 'row' }, `wave ${k + 1}`), h('td', {}, stages[k] !== undefined ? `${stages[k]}%` : '—'),
      h('td', {}, Object.entries(by.get(k)).map(([st, n]) => `${st}: ${n}`).join(', ')))));
}

async function detail(root, id) {
  const box = h('div', { 'aria-live': 'polite' });
  const abort = h('button', { type: 'button', class: 'danger', id: 'c-abort' }, 'Abort campaign');
  const msg = h('p', { role: 'alert' });
  let armed = false;
  abort.addEventListener('click', async () => {
    // Two steps, both reachable by keyboard: no modal confirm() needed.
    if (!armed) { armed = true; abort.textContent = 'Confirm abort (rolls back switched devices)'; return; }
    try { await post(`/api/campaigns/${encodeURIComponent(id)}/stop`); msg.className = 'ok'; msg.textContent = 'Abort requested.'; }
    catch (e) { msg.className = 'error'; msg.textContent = e.message; }
  });
  if (!can('engineer')) { abort.disabled = true; abort.title = 'Needs the engineer role'; }
  root.append(h('h1', {}, `Campaign ${id}`), h('p', {}, h('a', { href: '#/campaigns' }, '← Campaigns')), box, abort, msg);
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    const r = await get(`/api/campaigns/${encodeURIComponent(id)}`);
    const c = r.campaign || r;
    const devices = list(r, 'devices');
    clear(box).append(h('p', {}, `Model ${c.model}@${c.version}, target ${targetOf(c)}: `, h('strong', { id: 'c-state' }, c.state),
      c.reason ? ` (${c.reason})` : ''), waves(c, devices),
    table('Devices', ['Device', 'Wave', 'State', 'Reason'], devices.slice(0, 200).map((d) =>
      h('tr', {}, h('th', { scope: 'row' }, d.device || d.id), h('td', {}, String(Number(d.stage ?? 0) + 1)),
        h('td', {}, d.state), h('td', {}, d.reason || '—')))));
    const over = !/running|pending|active/.test(String(c.state));
    abort.disabled = over || !can('engineer');
    if (over) announce(`Campaign ${c.state}`);
    if (!stopped) timer = setTimeout(() => refresh().catch(() => {}), 1000);
  };
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

export async function campaignsPage(root, [id]) {
  if (id) return detail(root, id);
  const [models, camps] = await Promise.all([get('/api/models'), get('/api/campaigns')]);
  root.append(h('h1', {}, 'Campaigns'),
    newForm(list(models, 'models'), (cid) => { location.hash = `#/campaigns/${encodeURIComponent(cid)}`; }),
    campaignList(list(camps, 'campaigns')));
  return null;
}
