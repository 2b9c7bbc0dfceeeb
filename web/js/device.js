// One device: identity, twin (desired vs reported), live anomaly score and
// class chart, events with their explanations, model version history.
import { get, list } from './api.js';
import { clear, fmtBytes, fmtTime, h, table } from './dom.js';
import { body, deviceOf, explanation, isFault, summary } from './events.js';
import { healthBadge, healthOf } from './fleet.js';
import { lineChart } from './chart.js';
import { follow } from './stream.js';

function td(d) {
  return (d && typeof d.td === 'object' && d.td) || {};
}

function info(d) {
  const t = td(d);
  const sensors = Array.isArray(t['mote:sensors']) ? t['mote:sensors'] : [];
  const rows = [
    ['Title', t.title || '—'],
    ['Class', d.class || t['mote:deviceClass'] || '—'],
    ['Group', d.grp || d.group || t['mote:group'] || '—'],
    ['Health', healthBadge(healthOf(d))],
    ['Model arena available', fmtBytes(d.ram || t['mote:ramBytes'])],
    ['Flash for the model', fmtBytes(d.flash || t['mote:flashBytes'])],
    ['Runtime', d.runtime || t['mote:runtime'] || '—'],
    ['Sensors', sensors.map((x) => `${x.type} ${x.rateHz ? `${x.rateHz} Hz` : ''} ${x.location || ''}`).join('; ') || '—'],
    ['First seen', fmtTime(d.first_seen)],
    ['Last seen', fmtTime(d.last_seen)],
  ];
  return table('Device', ['Property', 'Value'], rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))));
}

// moted's twin: {desired: {model, version, campaign}, reported: {model,
// version, previous, slot, slot_state, ota_status, ota_version, cmd_seq},
// in_sync, sent_seq, updated}.
function twinTable(t) {
  const d = t.desired || {}, r = t.reported || {};
  const pair = (m, v) => (m ? `${m}@${v ?? '?'}` : '—');
  const want = pair(d.model, d.version), have = pair(r.model, r.version);
  const rows = [
    ['Model', want, have, t.in_sync === false ? 'warn' : ''],
    ['Previous model', '—', pair(r.previous?.model, r.previous?.version), ''],
    ['Slot', '—', `${r.slot || '—'} ${r.slot_state || ''}`, ''],
    ['OTA', d.campaign ? `campaign ${d.campaign}` : '—', `${r.ota_status || '—'} ${r.ota_version || ''}`, ''],
    ['Commands', t.sent_seq ? `last sent #${t.sent_seq}` : '—', r.cmd_seq ? `last answered #${r.cmd_seq}` : '—', ''],
  ];
  return table(`Twin: desired vs reported (${t.in_sync === false ? 'update pending' : 'in sync'})`, ['', 'Desired', 'Reported'],
    rows.map(([k, a, b, cls]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, a), h('td', { class: cls }, b))));
}

function chart(events) {
  const anomalies = events.filter((e) => (e.kind || body(e).kind) === 'anomaly' && body(e).score !== undefined);
  const points = anomalies.map((e) => ({ x: Number(e.ts || body(e).ts), y: Number(body(e).score) }));
  const thr = anomalies.length ? Number(body(anomalies[anomalies.length - 1]).threshold) : undefined;
  const markers = events.filter((e) => (e.kind || body(e).kind) === 'class')
    .map((e) => ({ x: Number(e.ts || body(e).ts), label: summary(e) }));
  if (!points.length && !markers.length) return h('p', { class: 'muted' }, 'No anomaly scores or class changes yet.');
  return lineChart({ title: `Anomaly score over time (${points.length} events, ${markers.length} class changes)`,
    points, limit: isNaN(thr) ? undefined : thr, markers, yLabel: 'score' });
}

function eventList(events) {
  if (!events.length) return h('p', { class: 'muted' }, 'No events.');
  return h('ol', { class: 'events', reversed: true }, events.slice().reverse().slice(0, 50).map((e) =>
    h('li', { 'data-kind': e.kind || body(e).kind },
      h('strong', {}, summary(e)), ' ', h('span', { class: 'muted' }, fmtTime(e.ts || body(e).ts)),
      explanation(e))));
}

// Model versions this device ran: moted's ledger history when it offers
// it, else what OTA events and the twin tell.
async function history(id, events, t) {
  let rows = [];
  try {
    rows = list(await get(`/api/devices/${encodeURIComponent(id)}/history`), 'history', 'entries');
  } catch { /* older moted: derive below */ }
  if (!rows.length) {
    rows = events.filter((e) => (e.kind || body(e).kind) === 'ota').map((e) => ({
      ts: e.ts || body(e).ts, model: body(e).model ? `${body(e).model.name}@${body(e).model.version}` : '—',
      what: body(e).status || 'ota' }));
    const r = t.reported || {};
    if (r.previous && r.previous.model) rows.unshift({ ts: null, model: `${r.previous.model}@${r.previous.version}`, what: 'previous' });
    if (r.model) rows.push({ ts: t.updated, model: `${r.model}@${r.version}`, what: 'running now' });
  }
  if (!rows.length) return h('p', { class: 'muted' }, 'No model history yet.');
  // Ledger rows: deploy (with its campaign) and rollback (with its reason).
  const what = (r) => `${r.what || r.kind || '—'}${r.campaign ? ` (campaign ${r.campaign})` : ''}${r.reason ? `: ${r.reason}` : ''}`;
  const model = (r) => r.model || (r.name ? `${r.name}@${r.version ?? '?'}` : '—');
  const entry = (r) => (r.hash ? `#${r.seq ?? '?'} ${String(r.hash).slice(0, 16)}` : r.seq ?? '—');
  return table('Model version history', ['When', 'Model', 'What', 'Ledger entry'], rows.map((r) =>
    h('tr', {}, h('td', {}, fmtTime(r.ts)), h('td', {}, model(r)), h('td', {}, what(r)), h('td', {}, entry(r)))));
}

// The kind of the latest event when it reports a fault ("anomaly"...).
function lastFault(events) {
  const e = events[events.length - 1];
  return e && isFault(e) ? e.kind || body(e).kind : null;
}

export async function devicePage(root, [id]) {
  const enc = encodeURIComponent(id || '');
  const [d, t, ev] = await Promise.all([get(`/api/devices/${enc}`), get(`/api/devices/${enc}/twin`).catch(() => ({})),
    get(`/api/devices/${enc}/events?limit=500`).catch(() => [])]);
  const dev = d.device && typeof d.device === 'object' ? d.device : d;
  const twin = (t && t.reported ? t : dev.twin) || {};
  const events = list(ev, 'events').slice().sort((a, b) => Number(a.ts || body(a).ts) - Number(b.ts || body(b).ts));
  const chartBox = h('div', {}, chart(events));
  const eventsBox = h('div', {}, eventList(events));
  root.append(h('h1', {}, `Device ${id}`), h('p', {}, h('a', { href: '#/fleet' }, '← Fleet')),
    h('div', { class: 'grid2' }, info({ ...dev, health: dev.health || twin.health || lastFault(events) }), twinTable(twin)),
    h('h2', {}, 'Anomaly score and class (live)'), chartBox,
    h('h2', {}, 'Events and explanations'), eventsBox,
    h('h2', {}, 'Model versions'), await history(id, events, twin));
  const seen = new Set(events.map((e) => e.id));
  return follow((e) => {
    if (deviceOf(e) !== id || seen.has(e.id)) return;
    seen.add(e.id);
    events.push(e);
    clear(chartBox).append(chart(events));
    clear(eventsBox).append(eventList(events));
  });
}
