// Fleet: every server with its online status, labels, groups, OS and cordon state; a label filter.
import { h, fill, api, link, badge, labels, os, time, message } from './lib.js';

export async function render(main) {
  const selector = h('input', { type: 'text', id: 'selector', placeholder: 'role=web,env=prod', size: 30,
    value: new URLSearchParams(location.search).get('selector') || '' });
  const body = h('tbody', { id: 'servers' });
  const note = h('div', {});
  const counts = h('span', { class: 'muted', id: 'fleet-counts' });
  async function load() {
    try {
      const q = selector.value.trim();
      const servers = await api('GET', 'servers' + (q ? '?selector=' + encodeURIComponent(q) : ''));
      fill(note);
      const by = {};
      servers.forEach((s) => { by[s.liveness] = (by[s.liveness] || 0) + 1; });
      fill(counts, servers.length + ' servers' + Object.entries(by).map(([k, v]) => ', ' + v + ' ' + k).join(''));
      fill(body, servers.map((s) => h('tr', { 'data-server': s.id },
        h('td', {}, link('servers/' + encodeURIComponent(s.id), s.id), h('div', { class: 'muted' }, s.hostname || '')),
        h('td', { class: 'liveness' }, badge(s.liveness), h('div', { class: 'muted' }, s.lastSeen ? 'seen ' + time(s.lastSeen) : '')),
        h('td', {}, labels(s.labels)),
        h('td', {}, s.groups.join(', ')),
        h('td', { class: 'os' }, os(s.facts)),
        h('td', {}, s.binding.scheme),
        h('td', {}, s.cordoned ? badge('CORDONED') : ''))));
    } catch (e) {
      fill(note, message(e.message, 'error'));
    }
  }
  fill(main,
    h('h1', {}, 'Fleet'),
    h('form', { class: 'toolbar', id: 'fleet-filter', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', { for: 'selector' }, 'Label selector'), selector, h('button', { type: 'submit' }, 'Filter'), counts),
    note,
    h('table', { id: 'fleet' },
      h('thead', {}, h('tr', {}, ['Server', 'Status', 'Labels', 'Groups', 'OS', 'Transport', 'Cordon'].map((c) => h('th', {}, c)))),
      body));
  await load();
  const timer = setInterval(load, 10000);
  return () => clearInterval(timer);
}
