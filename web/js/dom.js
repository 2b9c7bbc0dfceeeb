// Element building without innerHTML: every datum from the server is
// inserted as text, so device names or event fields cannot inject markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Tell screen readers what changed (the #status region is aria-live).
export function announce(text) {
  const st = document.getElementById('status');
  if (st) st.textContent = text;
}

export function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(Number(ms));
  return isNaN(d) ? '—' : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtBytes(n) {
  if (n === undefined || n === null || n === '') return '—';
  n = Number(n);
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(2)} MiB`;
}

export function pct(x, digits = 1) {
  return x === undefined || x === null || isNaN(Number(x)) ? '—' : `${(100 * Number(x)).toFixed(digits)}%`;
}

// A labelled form control: returns [label, control].
export function field(id, label, control) {
  control.id = id;
  return [h('label', { for: id }, label), control];
}

export function table(caption, headers, rows) {
  return h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows));
}
