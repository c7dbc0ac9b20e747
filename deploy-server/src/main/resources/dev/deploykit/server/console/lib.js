// Shared helpers of the console's pages: building DOM, calling the REST API with the session's
// CSRF token, formatting. No framework: each page builds its DOM once and updates what changed.

export const session = { name: null, role: null, groups: [], csrf: null };

const ROLES = ['viewer', 'deployer', 'admin'];

/** Whether the logged-in token's role is at least {@code role}. */
export function can(role) {
  return ROLES.indexOf(session.role) >= ROLES.indexOf(role);
}

/**
 * h('a', {href: '/x', class: 'btn', onclick: f}, 'text', child...): an element. Props starting
 * with "on" are listeners, "data-*" and aria attributes are set as attributes, others as properties.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'for' || k === 'role') el.setAttribute(k, v);
    else el[k] = v;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** A link inside the console, followed without a page load. */
export function link(path, ...children) {
  return h('a', { href: '/console/' + path, 'data-link': '1' }, ...children);
}

/** An API error, with the problem document's detail and the field it names. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : 'HTTP ' + status);
    this.status = status;
    this.field = problem && problem.field;
  }
}

/**
 * Calls the REST API as the logged-in session. body: an object (sent as JSON) or a string with
 * its contentType. Returns the parsed JSON (null for 204); throws ApiError.
 */
export async function api(method, path, body, contentType) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = session.csrf;
  let payload;
  if (body !== undefined && body !== null) {
    if (typeof body === 'string') {
      payload = body;
      headers['Content-Type'] = contentType || 'application/yaml';
    } else {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }
  const r = await fetch(path.startsWith('/') ? path : '/api/v1/' + path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

/** An upload with progress: onProgress(sentBytes, totalBytes). Resolves to the published package. */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/packages?filename=' + encodeURIComponent(file.name));
    xhr.setRequestHeader('X-CSRF-Token', session.csrf);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    xhr.onload = () => {
      const json = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      if (xhr.status >= 200 && xhr.status < 300) resolve(json);
      else reject(new ApiError(xhr.status, json));
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: 'the upload was interrupted' }));
    xhr.send(file);
  });
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let u = -1;
  do { n /= 1024; u++; } while (n >= 1024 && u < units.length - 1);
  return n.toFixed(1) + ' ' + units[u];
}

/** A status word as a coloured badge (ONLINE, RUNNING, FAILED, ...). */
export function badge(status) {
  return h('span', { class: 'badge s-' + String(status || 'none').toLowerCase() }, status || '—');
}

const OS_NAMES = {
  kylin: 'Kylin', uos: 'UOS', openeuler: 'openEuler', debian: 'Debian', ubuntu: 'Ubuntu', deepin: 'Deepin',
  rhel: 'RHEL', centos: 'CentOS', rocky: 'Rocky Linux', almalinux: 'AlmaLinux', fedora: 'Fedora', anolis: 'Anolis',
  ol: 'Oracle Linux', amzn: 'Amazon Linux', sles: 'SLES', opensuse: 'openSUSE', kylinsec: 'KylinSec', euleros: 'EulerOS',
};

/** "openEuler 22.03 (rpm, x86_64)" from a server's facts. */
export function os(facts) {
  if (!facts || !facts.osId || facts.osId === 'unknown') return 'unknown';
  const name = OS_NAMES[facts.osId] || facts.osId;
  return name + (facts.osVersion ? ' ' + facts.osVersion : '') + ' (' + facts.packageFamily + ', ' + facts.arch + ')';
}

export function labels(map) {
  return Object.entries(map || {}).map(([k, v]) => h('span', { class: 'label' }, k + '=' + v));
}

/** A message line: error (red) or note. */
export function message(text, kind) {
  return h('p', { class: 'msg ' + (kind || 'note'), role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Replaces el's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
