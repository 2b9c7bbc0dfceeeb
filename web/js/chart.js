// Inline SVG charts: no chart library, text alternatives included.
import { s } from './dom.js';

const W = 720, H = 220, L = 48, R = 12, T = 14, B = 28;

function scale(lo, hi, a, b) {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

// Line chart of points [{x, y}] with an optional horizontal `limit` line
// and markers [{x, label}] drawn as ticks with titles.
export function lineChart({ title, points: raw, limit, markers: rawMarkers = [], yLabel = '' }) {
  // Events replayed in a burst share a time stamp: plot them in order then.
  const all = raw.map((p) => p.x).concat(rawMarkers.map((m) => m.x));
  const order = all.length > 1 && Math.max(...all) - Math.min(...all) < 1000;
  const points = order ? raw.map((p, i) => ({ ...p, x: i })) : raw;
  const markers = order ? rawMarkers.map((m, i) => ({ ...m, x: (i * Math.max(raw.length - 1, 1)) / Math.max(rawMarkers.length, 1) })) : rawMarkers;
  const xs = points.map((p) => p.x).concat(markers.map((m) => m.x));
  const ys = points.map((p) => p.y).concat(limit !== undefined ? [limit] : []);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const y1 = Math.max(...ys, 0) * 1.1 || 1;
  const fx = scale(x0, x1, L, W - R), fy = scale(0, y1, H - B, T);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#555' }));
  svg.append(s('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#555' }));
  for (const v of [0, y1 / 2, y1]) {
    svg.append(s('text', { x: L - 4, y: fy(v) + 4, 'text-anchor': 'end' }, v.toFixed(2)));
  }
  svg.append(s('text', { x: L + 6, y: T + 4, 'text-anchor': 'start' }, yLabel));
  if (limit !== undefined) {
    svg.append(s('line', { x1: L, x2: W - R, y1: fy(limit), y2: fy(limit), stroke: '#b00020', 'stroke-dasharray': '5 4' }));
    svg.append(s('text', { x: W - R, y: fy(limit) - 4, 'text-anchor': 'end', fill: '#b00020' }, `threshold ${limit.toFixed(3)}`));
  }
  if (points.length) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${fx(p.x).toFixed(1)},${fy(p.y).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, fill: 'none', stroke: '#0b5394', 'stroke-width': 2 }));
    for (const p of points) {
      svg.append(s('circle', { cx: fx(p.x), cy: fy(p.y), r: 3, fill: p.y > (limit ?? Infinity) ? '#b00020' : '#0b5394' },
        s('title', {}, `${order ? `event ${p.x + 1}` : new Date(p.x).toISOString()}: ${p.y.toFixed(3)}`)));
    }
  }
  for (const m of markers) {
    svg.append(s('line', { x1: fx(m.x), x2: fx(m.x), y1: H - B, y2: H - B + 8, stroke: '#8a4b00', 'stroke-width': 2 },
      s('title', {}, m.label)));
  }
  if (order) {
    svg.append(s('text', { x: L, y: H - 6 }, 'first event'));
    svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, 'latest (same second: in order)'));
  } else if (xs.length) {
    svg.append(s('text', { x: L, y: H - 6 }, new Date(x0).toISOString().slice(11, 19)));
    svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, new Date(x1).toISOString().slice(11, 19)));
  }
  return svg;
}

// Bars [{label, value}] (accuracy per round, bytes...).
export function barChart({ title, bars, max, fmt = (v) => String(v) }) {
  const n = Math.max(bars.length, 1);
  const top = max || Math.max(...bars.map((b) => b.value), 1);
  const fy = scale(0, top, H - B, T);
  const bw = (W - L - R) / n;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#555' }));
  bars.forEach((b, i) => {
    const x = L + i * bw + bw * 0.15;
    svg.append(s('rect', { x, y: fy(b.value), width: bw * 0.7, height: H - B - fy(b.value), fill: '#0b5394' },
      s('title', {}, `${b.label}: ${fmt(b.value)}`)));
    svg.append(s('text', { x: x + bw * 0.35, y: H - 10, 'text-anchor': 'middle' }, b.label));
    svg.append(s('text', { x: x + bw * 0.35, y: fy(b.value) - 3, 'text-anchor': 'middle' }, fmt(b.value)));
  });
  return svg;
}
