// Events as moted stores them: {id, device, seq, ts, kind, body: <the
// device's event, docs/fleet-protocol.md>}. Also accepts the bare event.
import { h, pct } from './dom.js';

export function body(e) {
  return (e && typeof e.body === 'object' && e.body) || e || {};
}

export function deviceOf(e) {
  return e.device || e.dev || body(e).dev || '';
}

function num(x, d = 3) {
  return x === undefined || x === null || isNaN(Number(x)) ? '?' : Number(x).toFixed(d);
}

export function summary(e) {
  const b = body(e);
  const kind = e.kind || b.kind;
  const model = b.model ? ` (model ${b.model.name}@${b.model.version})` : '';
  switch (kind) {
    case 'anomaly': return `Anomaly: score ${num(b.score)} over threshold ${num(b.threshold)}${model}`;
    case 'class': return `Class ${b.prev_class ?? '?'} → ${b.class ?? '?'}${model}`;
    case 'drift': return `Drift detected by ${b.detector || 'a detector'}${model}`;
    case 'ota': return `OTA: ${b.status || b.ota || 'update'}${b.version ? ` version ${b.version}` : ''}`;
    default: return `${kind || 'event'}`;
  }
}

// "band 150–175 Hz, 62% of score" for each explanation entry.
export function explanation(e) {
  const b = body(e);
  const of = (e.kind || b.kind) === 'class' ? 'of the class logit' : 'of score';
  const items = Array.isArray(b.explain) ? b.explain : [];
  if (!items.length) return null;
  return h('ul', { class: 'explain', 'aria-label': 'Explanation' },
    items.map((x) => {
      const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
      bar.style.width = `${Math.max(2, Math.round(120 * Math.min(1, Number(x.share) || 0)))}px`;
      return h('li', {}, bar, `${String(x.feature).replace(/(\d)-(\d)/g, '$1–$2')}, ${pct(x.share, 0)} ${of}`);
    }));
}

export function isFault(e) {
  const k = e.kind || body(e).kind;
  if (k === 'anomaly' || k === 'drift') return true;
  return k === 'class' && body(e).class && !/^(normal|ok|healthy)$/i.test(String(body(e).class));
}
