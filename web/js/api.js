// moted's HTTP/JSON API. The session cookie travels by itself (HttpOnly,
// SameSite=Strict); the CSRF token lives only in this module's memory and
// goes with every request that may change state.

let csrf = '';
export const session = { user: null, role: null };
// Bumped at every login and logout: a 401 answering a request sent under
// an earlier session (a page still finishing after a logout) says nothing
// about the current one and must not end it.
let epoch = 0;
const RANK = { viewer: 1, engineer: 2, admin: 3 };

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const sentIn = epoch;
  const r = await fetch(path, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { raw: text }; }
  if (!r.ok) {
    if (r.status === 401 && path !== '/api/login' && sentIn === epoch && onUnauthorized) onUnauthorized();
    throw new ApiError(r.status, (data && data.error) || `${method} ${path}: HTTP ${r.status}`);
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function adopt(s) {
  epoch++;
  session.user = s.user;
  session.role = s.role;
  csrf = s.csrf || '';
}

export async function login(user, password) {
  adopt(await post('/api/login', { user, password }));
}

export async function restore() {
  try {
    adopt(await get('/api/session'));
    return true;
  } catch {
    return false;
  }
}

export async function logout() {
  try { await post('/api/logout'); } finally { adopt({}); }
}

export function can(role) {
  return (RANK[session.role] || 0) >= RANK[role];
}

// The list inside a response, whatever key moted uses for it.
export function list(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const k of [...keys, 'items', 'rows', 'results']) {
    if (data && Array.isArray(data[k])) return data[k];
  }
  return [];
}
