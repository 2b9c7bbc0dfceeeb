// Model catalogue: model cards, metrics, confusion matrix, size and arena,
// and which devices can run each model (the knowledge graph's check).
import { get, list } from './api.js';
import { clear, fmtBytes, fmtTime, h, table } from './dom.js';
import { confusion, keyNumbers } from './metrics.js';

const cardOf = (m) => (m.card && typeof m.card === 'object' ? m.card : {});

function catalogue(models, show) {
  return table('Registered models', ['Model', 'Version', 'Target class', 'Task', 'Int8 accuracy', 'Flash', 'Arena', 'Registered'],
    models.map((m) => {
      const c = cardOf(m);
      const btn = h('button', { type: 'button', class: 'secondary' }, `${m.name}`);
      btn.addEventListener('click', () => show(m));
      return h('tr', {}, h('th', { scope: 'row' }, btn), h('td', {}, String(m.version)), h('td', {}, m.target || '—'),
        h('td', {}, c.task || '—'), h('td', { class: 'num' }, c.metrics?.accuracy !== undefined ? `${(100 * c.metrics.accuracy).toFixed(1)}%` : '—'),
        h('td', { class: 'num' }, fmtBytes(c.flash_bytes ?? m.size)), h('td', { class: 'num' }, fmtBytes(c.arena_bytes)),
        h('td', {}, fmtTime(m.registered)));
    }));
}

async function compatibility(m) {
  // The graph knows a model by its card's name and version ("1.0.0"),
  // not by the registry's version number.
  const ref = `${m.name}@${cardOf(m).version ?? m.version}`;
  try {
    const rows = list(await get(`/api/compat?model=${encodeURIComponent(ref)}`), 'devices');
    if (!rows.length) return h('p', { class: 'muted' }, 'No devices known to the graph.');
    const ok = rows.filter((r) => r.compatible ?? !(r.reasons || []).length).length;
    return table(`Devices: ${ok} of ${rows.length} can run ${m.name}@${m.version}`, ['Device', 'Compatible', 'Reasons'],
      rows.map((r) => {
        const good = r.compatible ?? !(r.reasons || []).length;
        return h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/devices/${encodeURIComponent(r.id || r.device)}` }, r.id || r.device)),
          h('td', { class: good ? 'ok' : 'bad' }, good ? 'yes' : 'no'),
          h('td', {}, (r.reasons || []).join('; ') || '—'));
      }));
  } catch (e) {
    return h('p', { class: 'muted' }, `Compatibility check unavailable: ${e.message}`);
  }
}

// The card holds accuracy but no confusion matrix; a model trained in the
// builder has one in its training job's metrics.json.
async function jobConfusion(name) {
  try {
    const jobs = list(await get('/api/jobs'), 'jobs').filter((j) => j.pipeline === name && j.state === 'done');
    if (!jobs.length) return null;
    const j = await get(`/api/jobs/${jobs.sort((a, b) => b.id - a.id)[0].id}`);
    const rep = j.metrics?.evaluation?.report_b;
    return rep ? confusion(rep.classes, rep.confusion, `Confusion matrix of the int8 model, test split (training job ${j.id})`) : null;
  } catch {
    return null;
  }
}

async function detail(box, m) {
  const c = cardOf(m);
  const cm = confusion(c.output?.classes, c.metrics?.confusion || c.confusion) || (await jobConfusion(m.name));
  clear(box).append(h('h2', { tabindex: '-1' }, `Model card: ${m.name}@${m.version}`),
    h('p', {}, c.description || 'No description.'),
    h('div', { class: 'grid2' }, keyNumbers(c),
      table('Package', ['Property', 'Value'], [
        ['Target device class', m.target || '—'], ['Bundle SHA-256', m.sha256 ? `${m.sha256.slice(0, 16)}…` : '—'],
        ['Bundle size', fmtBytes(m.size)], ['Quantization', c.quantization || '—'],
        ['Classes', (c.output?.classes || []).join(', ') || '—'], ['Operators', (c.required_operators || []).join(', ') || '—'],
        ['Runtime', c.runtime_version || '—'],
      ].map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))),
    cm || h('p', { class: 'muted' }, 'No confusion matrix recorded for this model.'),
    h('h3', {}, 'Compatible devices'), await compatibility(m));
  box.querySelector('h2').focus();
}

export async function modelsPage(root) {
  const models = list(await get('/api/models'), 'models');
  const box = h('section', { 'aria-live': 'polite' });
  root.append(h('h1', {}, 'Model catalogue'),
    models.length ? catalogue(models, (m) => detail(box, m)) : h('p', {}, 'No models registered yet. Train one in the pipeline builder.'),
    box);
  if (models.length) await detail(box, models[models.length - 1]);
}
