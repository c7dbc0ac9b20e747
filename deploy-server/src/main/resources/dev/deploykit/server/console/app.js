// The console's shell: login, navigation and the router. Every page is a module exporting
// render(main, params) that builds its DOM and may return a function that stops it (closes streams).
import { session, h, fill, api, message, ApiError, can } from './lib.js';

const ROUTES = [
  [/^$|^fleet$/, () => import('./fleet.js'), 'fleet'],
  [/^servers\/([^/]+)$/, () => import('./server.js'), 'fleet'],
  [/^packages$/, () => import('./packages.js'), 'packages'],
  [/^deployments$/, () => import('./deployments.js'), 'deployments'],
  [/^deployments\/new$/, () => import('./new.js'), 'new'],
  [/^deployments\/([^/]+)$/, () => import('./deployment.js'), 'deployments'],
  [/^desired$/, () => import('./desired.js'), 'desired'],
  [/^audit$/, () => import('./audit.js'), 'audit'],
];

const top = document.getElementById('top');
const main = document.getElementById('main');
let stop = null;

function nav(current) {
  const item = (path, key, text) => h('a', { href: '/console/' + path, 'data-link': '1', class: key === current ? 'current' : '' }, text);
  return h('nav', {},
    h('span', { class: 'brand' }, 'DeployKit'),
    item('fleet', 'fleet', 'Fleet'),
    item('packages', 'packages', 'Packages'),
    item('deployments', 'deployments', 'Deployments'),
    can('deployer') ? item('deployments/new', 'new', 'New deployment') : null,
    item('desired', 'desired', 'Desired state'),
    can('admin') ? item('audit', 'audit', 'Audit') : null,
    h('span', { class: 'who', id: 'who' }, session.name + ' (' + session.role + ')'),
    h('button', { type: 'button', id: 'logout', onclick: logout }, 'Log out'));
}

async function route() {
  if (stop) { stop(); stop = null; }
  const path = location.pathname.replace(/^\/console\/?/, '').replace(/\/$/, '');
  for (const [pattern, load, key] of ROUTES) {
    const m = path.match(pattern);
    if (!m) continue;
    fill(top, nav(key));
    fill(main, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const page = await load();
      stop = (await page.render(main, m.slice(1).map(decodeURIComponent))) || null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return showLogin('Your session ended; log in again.');
      fill(main, message(e.message, 'error'));
    }
    return;
  }
  fill(top, nav(''));
  fill(main, message('No console page at ' + location.pathname, 'error'));
}

export function go(path) {
  history.pushState(null, '', '/console/' + path);
  route();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
    e.preventDefault();
    go(a.getAttribute('href').replace(/^\/console\//, ''));
  }
});
window.addEventListener('popstate', route);

function showLogin(note) {
  if (stop) { stop(); stop = null; }
  fill(top, h('nav', {}, h('span', { class: 'brand' }, 'DeployKit')));
  const token = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true, size: 40 });
  const out = h('div', { id: 'login-message' }, note ? message(note) : null);
  const form = h('form', { id: 'login', class: 'card narrow', onsubmit: async (e) => {
    e.preventDefault();
    try {
      Object.assign(session, await api('POST', '/console/login', { token: token.value }));
      token.value = '';
      route();
    } catch (err) {
      fill(out, message(err.message, 'error'));
    }
  } },
  h('h1', {}, 'Log in'),
  h('p', { class: 'muted' }, 'With your DeployKit API token. It is exchanged for a session cookie and not kept in the browser.'),
  h('label', { for: 'token' }, 'API token'), token,
  h('button', { type: 'submit', id: 'login-submit' }, 'Log in'), out);
  fill(main, form);
  token.focus();
}

async function logout() {
  try { await api('POST', '/console/logout'); } catch (e) { /* gone already */ }
  Object.assign(session, { name: null, role: null, groups: [], csrf: null });
  showLogin('Logged out.');
}

(async () => {
  const s = await api('GET', '/console/session');
  if (s.loggedIn) {
    Object.assign(session, s);
    route();
  } else {
    showLogin();
  }
})();
