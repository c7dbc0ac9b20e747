// One server: facts, labels, groups, cordon; its inventory, the deployments that touched it and
// the history of its inventory (what changed, when, seen how).
import { h, fill, api, link, badge, labels, os, time, message, can } from './lib.js';

export async function render(main, [id]) {
  const [s, deployments, history] = await Promise.all([
    api('GET', 'servers/' + encodeURIComponent(id)),
    api('GET', 'deployments?server=' + encodeURIComponent(id)),
    api('GET', 'servers/' + encodeURIComponent(id) + '/inventory-history'),
  ]);
  const note = h('div', {});
  const cordon = can('deployer') ? h('button', { type: 'button', id: 'cordon', onclick: async () => {
    try {
      await api('POST', 'servers/' + encodeURIComponent(id) + (s.cordoned ? '/uncordon' : '/cordon'));
      render(main, [id]);
    } catch (e) { fill(note, message(e.message, 'error')); }
  } }, s.cordoned ? 'Uncordon' : 'Cordon') : null;
  const inventory = Object.entries(s.inventory || {}).sort(([a], [b]) => a.localeCompare(b));
  fill(main,
    h('h1', {}, 'Server ', s.id, ' ', badge(s.liveness), s.cordoned ? [' ', badge('CORDONED')] : null),
    note,
    h('div', { class: 'card grid' },
      h('div', {}, h('b', {}, 'Hostname '), s.hostname || '—'),
      h('div', {}, h('b', {}, 'OS '), os(s.facts)),
      h('div', {}, h('b', {}, 'Transport '), s.binding.scheme),
      h('div', {}, h('b', {}, 'Last seen '), time(s.lastSeen) || '—'),
      h('div', {}, h('b', {}, 'Addresses '), (s.addresses || []).join(', ') || '—'),
      h('div', {}, h('b', {}, 'Groups '), s.groups.join(', ') || '—'),
      h('div', {}, h('b', {}, 'Labels '), labels(s.labels)),
      h('div', {}, cordon)),
    h('h2', {}, 'Installed packages'),
    inventory.length === 0 ? h('p', { class: 'muted' }, 'No inventory reported yet.')
      : h('table', { id: 'inventory' }, h('thead', {}, h('tr', {}, ['Package', 'Version'].map((c) => h('th', {}, c)))),
        h('tbody', {}, inventory.map(([name, version]) => h('tr', {}, h('td', {}, name), h('td', {}, version))))),
    h('h2', {}, 'Deployments'),
    deployments.length === 0 ? h('p', { class: 'muted' }, 'None yet.')
      : h('table', { id: 'server-deployments' }, h('thead', {}, h('tr', {}, ['Deployment', 'Status', 'This node', 'From → to', 'Message', 'When']
        .map((c) => h('th', {}, c)))), h('tbody', {}, deployments.map((d) => h('tr', {},
        h('td', {}, link('deployments/' + d.id, d.name)), h('td', {}, badge(d.status)), h('td', {}, badge(d.node.status)),
        h('td', {}, (d.node.previousVersion || '∅') + ' → ' + (d.node.targetVersion || '∅')), h('td', {}, d.node.message || ''),
        h('td', {}, time(d.createdAt)))))),
    h('h2', {}, 'Inventory history'),
    history.length === 0 ? h('p', { class: 'muted' }, 'No changes recorded.')
      : h('table', { id: 'inventory-history' }, h('thead', {}, h('tr', {}, ['When', 'Package', 'Change', 'Seen'].map((c) => h('th', {}, c)))),
        h('tbody', {}, history.slice().reverse().slice(0, 200).map((c) => h('tr', {}, h('td', {}, time(c.at)), h('td', {}, c.packageName),
          h('td', {}, (c.fromVersion || '∅') + ' → ' + (c.toVersion || '∅')), h('td', {}, c.source))))));
}
