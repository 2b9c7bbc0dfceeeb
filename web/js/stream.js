// Live events: Server-Sent Events from /api/stream (the latest 20 first,
// then each new one; on a dropped connection the browser reconnects with
// Last-Event-ID and moted resumes after it), else, when the stream cannot
// open, polling /api/events?since=ID every 2 s. Either way `onEvent` gets
// each event once, in order. Returns a stop function.
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
    if (!stopped) timer = setTimeout(poll, 2000);
  }

  function startPolling() {
    if (es) { es.close(); es = null; }
    if (!stopped && !timer) poll();
  }

  if (window.EventSource) {
    const src = new EventSource('/api/stream?tail=20');
    es = src;
    let opened = false;
    src.addEventListener('open', () => { opened = true; onState && onState('live'); });
    src.addEventListener('event', (m) => {
      try { deliver(JSON.parse(m.data)); } catch { /* a malformed message is skipped */ }
    });
    src.addEventListener('error', () => {
      // Never opened (no stream endpoint, or 503: too many streams) or
      // refused on a reconnect (CLOSED: e.g. the session ended): poll,
      // which also reports a 401. Opened then dropped: EventSource
      // reconnects by itself with Last-Event-ID.
      if (!opened || src.readyState === EventSource.CLOSED) startPolling();
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
