// Model metrics shared by the catalogue and the builder.
import { fmtBytes, h, pct, table } from './dom.js';

export function confusion(classes, m, caption = 'Confusion matrix (rows: true class, columns: predicted)') {
  if (!Array.isArray(m) || !m.length) return null;
  const names = Array.isArray(classes) && classes.length === m.length ? classes : m.map((_, i) => `class ${i}`);
  return table(caption, ['true \\ predicted', ...names], m.map((r, i) =>
    h('tr', {}, h('th', { scope: 'row' }, names[i]),
      r.map((v, j) => h('td', { class: `num${i === j ? ' ok' : v ? ' bad' : ''}` }, String(v))))));
}

// Key numbers of a `mote train` metrics.json summary or a model card.
export function keyNumbers(x) {
  const sm = x.summary || x;
  const m = x.metrics || {};
  const rows = [
    ['Float accuracy', pct(sm.float ?? m.float_accuracy)],
    ['Int8 accuracy (mote runtime)', pct(sm.int8 ?? m.accuracy)],
    ['Flash (model bytes)', fmtBytes(sm.flash_bytes)],
    ['Arena', fmtBytes(sm.arena_bytes)],
    ['MACs per inference', sm.macs ?? sm.before_pruning?.macs ?? '—'],
    ['Test windows', sm.windows?.test ?? m.test_windows ?? '—'],
  ];
  return table('Metrics', ['Metric', 'Value'], rows.map(([k, v]) =>
    h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, String(v)))));
}
