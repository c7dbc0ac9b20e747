// Desired state: pins per group, servers held out, convergence failures and the reconciler's decisions.
import { h, fill, api, link, time, badge } from './lib.js';

export async function render(main) {
  async function load() {
    const d = await api('GET', 'desired');
    fill(main, h('h1', {}, 'Desired state'),
      h('h2', {}, 'Pins'),
      d.pins.length === 0 ? h('p', { class: 'muted' }, 'No group is pinned.')
        : h('table', { id: 'pins' }, h('thead', {}, h('tr', {}, ['Group', 'Package', 'Version', 'Pinned by', 'When'].map((c) => h('th', {}, c)))),
          h('tbody', {}, d.pins.map((p) => h('tr', {}, h('td', {}, p.group), h('td', {}, p.package), h('td', {}, p.version),
            h('td', {}, p.pinnedBy), h('td', {}, time(p.pinnedAt)))))),
      h('h2', {}, 'Not converging'),
      d.failing.length === 0 ? h('p', { class: 'muted', id: 'no-failing' }, 'Every pinned server converges.')
        : h('table', { id: 'failing' }, h('thead', {}, h('tr', {}, ['Pin', 'Server', 'Failures', 'Next try', 'Last error'].map((c) => h('th', {}, c)))),
          h('tbody', {}, d.failing.map((f) => h('tr', {}, h('td', {}, f.pin), h('td', {}, link('servers/' + f.serverId, f.serverId)),
            h('td', {}, f.failures), h('td', {}, time(f.nextAttempt)), h('td', {}, f.lastError))))),
      d.held.length ? h('p', {}, 'Held out of convergence: ', d.held.join(', ')) : null,
      h('h2', {}, 'Reconciler decisions'),
      d.decisions.length === 0 ? h('p', { class: 'muted' }, 'None yet.')
        : h('table', { id: 'decisions' }, h('thead', {}, h('tr', {}, ['When', 'Kind', 'Pin', 'Server', 'Installed → pinned', 'Deployment', 'Message']
          .map((c) => h('th', {}, c)))), h('tbody', {}, d.decisions.map((x) => h('tr', {}, h('td', {}, time(x.at)), h('td', {}, badge(x.kind)),
          h('td', {}, x.pin), h('td', {}, x.serverId || ''), h('td', {}, (x.installed || '∅') + ' → ' + (x.pinned || '∅')),
          h('td', {}, x.deploymentId ? link('deployments/' + x.deploymentId, x.deploymentId) : ''), h('td', {}, x.message || ''))))));
  }
  await load();
  const timer = setInterval(load, 10000);
  return () => clearInterval(timer);
}
