// Audit: who did what when, newest first (admins only, as in the API).
import { h, fill, api, time, badge } from './lib.js';

export async function render(main) {
  const entries = await api('GET', 'audit?limit=1000');
  entries.reverse();
  fill(main, h('h1', {}, 'Audit'),
    h('p', { class: 'muted' }, 'Every write through the API or this console, with the token that made it.'),
    h('table', { id: 'audit' },
      h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Result', 'Detail'].map((c) => h('th', {}, c)))),
      h('tbody', {}, entries.map((e) => h('tr', { 'data-action': e.action },
        h('td', {}, time(e.at)), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target),
        h('td', {}, badge(e.status < 400 ? 'OK ' + e.status : 'FAILED ' + e.status)), h('td', {}, e.detail))))));
}
