// Live events: Server-Sent Events from /api/stream when moted offers it,
// else polling /api/events?since=ID. Either way `onEvent` gets each new
// event once, in order. Returns a stop function.
import { get, list } from './api.js';

export function follow(onEvent, onState) {
  let stopped = false;
  let since = 0;
  let caughtUp = false;
  let timer = null;
  let es = null;

  const deliver = (e) => {
    const id = Number(e.id || 0);
    if (id && id <= since) return;
    if (id) since = id;
    onEvent(e);
  };

  // moted answers events after `since` in id order, `next` being the last
  // id. With `tail=N` (when moted supports it: it echoes "tail") the
  // latest N come at once; else the first calls catch up in big pages,
  // at most 10 (50,000 events), without showing them all.
  async function catchUp() {
    const t = await get('/api/events?tail=20&limit=20');
    if (t && t.tail !== undefined) {
      for (const e of list(t, 'events')) deliver(e);
      if (t.next) since = Math.max(since, Number(t.next));
      return;
    }
    let last = [];
    for (let page = 0; page < 10; page++) {
      const data = await get(`/api/events?since=${since}&limit=5000`);
      const events = list(data, 'events');
      if (data && data.next) since = Number(data.next);
      last = last.concat(events).slice(-20);
      if (events.length < 5000) break;
    }
    for (const e of last) onEvent(e);
  }

  async function poll() {
    if (stopped) return;
    try {
      if (!caughtUp) { await catchUp(); caughtUp = true; } else {
        const data = await get(`/api/events?since=${since}&limit=500`);
        for (const e of list(data, 'events')) deliver(e);
        if (data && data.next) since = Math.max(since, Number(data.next));
      }
      onState && onState('polling');
    } catch {
      onState && onState('offline');
    }
    timer = setTimeout(poll, 2000);
  }

  function startPolling() {
    if (es) { es.close(); es = null; }
    if (!stopped && !timer) poll();
  }

  if (window.EventSource) {
    es = new EventSource('/api/stream');
    let opened = false;
    es.addEventListener('open', () => { opened = true; onState && onState('live'); });
    es.addEventListener('event', (m) => {
      try { deliver(JSON.parse(m.data)); } catch { /* a malformed message is skipped */ }
    });
    es.addEventListener('error', () => {
      // Never opened: moted has no stream endpoint; poll instead. Opened
      // then dropped: EventSource reconnects by itself with Last-Event-ID.
      if (!opened) startPolling();
      else onState && onState('reconnecting');
    });
  } else {
    startPolling();
  }

  return () => {
    stopped = true;
    if (es) es.close();
    if (timer) clearTimeout(timer);
  };
}
