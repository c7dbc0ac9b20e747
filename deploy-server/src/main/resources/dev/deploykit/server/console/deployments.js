// Deployments: newest first, with status, who started it, when, and progress.
import { h, fill, api, link, badge, time, can } from './lib.js';

const DONE = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED', 'ROLLED_BACK'];

export function progress(nodes) {
  const total = Object.values(nodes).reduce((a, b) => a + b, 0);
  const done = DONE.reduce((a, s) => a + (nodes[s] || 0), 0);
  return h('span', {}, h('progress', { max: total || 1, value: done }), ' ', done + '/' + total,
    nodes.FAILED ? h('span', { class: 'muted' }, ' · ' + nodes.FAILED + ' failed') : null);
}

export async function render(main) {
  const body = h('tbody', { id: 'deployment-rows' });
  async function load() {
    const list = await api('GET', 'deployments');
    fill(body, list.length === 0 ? h('tr', {}, h('td', { colSpan: 5, class: 'muted' }, 'No deployments yet.'))
      : list.map((d) => h('tr', { 'data-deployment': d.id },
        h('td', {}, link('deployments/' + d.id, d.name), h('div', { class: 'muted' }, d.id)),
        h('td', {}, badge(d.status)),
        h('td', {}, d.startedBy || h('span', { class: 'muted' }, 'Java API or desired state')),
        h('td', {}, time(d.createdAt)),
        h('td', {}, progress(d.nodes)))));
  }
  fill(main, h('h1', {}, 'Deployments'),
    can('deployer') ? h('p', {}, link('deployments/new', 'New deployment…')) : null,
    h('table', { id: 'deployments' },
      h('thead', {}, h('tr', {}, ['Deployment', 'Status', 'Started by', 'Started', 'Progress'].map((c) => h('th', {}, c)))), body));
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
