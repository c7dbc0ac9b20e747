// Packages: every name with its versions in the format's order (newest last), the metadata read
// from each file, and an upload with progress for deployers.
import { h, fill, api, upload, bytes, time, message, can } from './lib.js';

export async function render(main) {
  const list = h('div', { id: 'package-list' });
  const detail = h('div', { id: 'package-detail' });
  const note = h('div', { id: 'upload-message' });

  async function load() {
    const packages = await api('GET', 'packages');
    const names = Object.keys(packages).sort();
    fill(list, names.length === 0 ? h('p', { class: 'muted' }, 'Nothing published yet.')
      : h('table', { id: 'packages' }, h('thead', {}, h('tr', {}, h('th', {}, 'Package'), h('th', {}, 'Versions (oldest → newest)'))),
        h('tbody', {}, names.map((n) => h('tr', { class: 'clickable', 'data-package': n, onclick: () => show(n) },
          h('td', {}, h('a', { href: '#' + n, onclick: (e) => { e.preventDefault(); show(n); } }, n)),
          h('td', {}, packages[n].join(', ')))))));
  }

  async function show(name) {
    const versions = await api('GET', 'packages/' + encodeURIComponent(name));
    fill(detail, h('h2', {}, name),
      h('table', { id: 'versions' }, h('thead', {}, h('tr', {}, ['Version', 'Format', 'Description', 'Fields', 'Size', 'SHA-256', 'Published']
        .map((c) => h('th', {}, c)))),
      h('tbody', {}, versions.slice().reverse().map((p) => h('tr', {},
        h('td', {}, p.metadata.version), h('td', {}, p.format), h('td', {}, p.metadata.description),
        h('td', {}, Object.entries(p.metadata.fields).map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, k + ': '), v))),
        h('td', {}, bytes(p.artifact.size)), h('td', { class: 'muted' }, p.artifact.sha256.slice(0, 16) + '…'),
        h('td', {}, time(p.publishedAt)))))));
  }

  let form = null;
  if (can('deployer')) {
    const file = h('input', { type: 'file', id: 'upload-file', required: true });
    const progress = h('progress', { id: 'upload-progress', max: 1, value: 0, hidden: true });
    const button = h('button', { type: 'submit', id: 'upload-submit' }, 'Publish');
    form = h('form', { class: 'card toolbar', id: 'upload', onsubmit: async (e) => {
      e.preventDefault();
      const f = file.files[0];
      if (!f) return;
      button.disabled = true;
      progress.hidden = false;
      fill(note, message('Uploading ' + f.name + ' (' + bytes(f.size) + ')…'));
      try {
        const p = await upload(f, (sent, total) => { progress.max = total || 1; progress.value = sent; });
        fill(note, message('Published ' + p.name + ' ' + p.version + ' (' + p.format + ', ' + bytes(p.size) + ')'));
        file.value = '';
        await load();
        await show(p.name);
      } catch (err) {
        fill(note, message(err.message, 'error'));
      } finally {
        button.disabled = false;
        progress.hidden = true;
      }
    } }, h('label', { for: 'upload-file' }, 'Publish a package (.deb, .rpm, bundle .tar.gz)'), file, button, progress);
  }
  fill(main, h('h1', {}, 'Packages'), form, note, list, detail);
  await load();
}
