// New deployment: a form that writes a plan file (or a plan file pasted or uploaded), the exact
// preview of who changes from what to what in which batch, and Start only for what was previewed.
import { h, fill, api, message, badge } from './lib.js';
import { go } from './app.js';

const q = (s) => JSON.stringify(s);
/** A size: a count as a number, a percent as a string. */
const size = (s) => (/^\d+$/.test(s.trim()) ? s.trim() : q(s.trim()));

/** The plan file the form describes, in YAML. */
function planText(f) {
  const list = (s) => s.split(/[\s,]+/).filter(Boolean);
  const lines = ['name: ' + q(f.name || (f.pkg + ' ' + f.version)), 'action:', '  install: {package: ' + q(f.pkg) + ', version: ' + q(f.version) + '}', 'target:'];
  if (f.groups.length) lines.push('  groups: [' + f.groups.map(q).join(', ') + ']');
  if (f.servers.trim()) lines.push('  servers: [' + list(f.servers).map(q).join(', ') + ']');
  if (f.selector.trim()) {
    const pairs = list(f.selector).map((p) => p.split('='));
    lines.push('  selector: {' + pairs.map(([k, v]) => q(k) + ': ' + q(v || '')).join(', ') + '}');
  }
  lines.push('rollout:', '  canary: ' + (Number(f.canary) || 0), '  batch: ' + size(f.batch || '100%'));
  lines.push('failurePolicy:', '  maxFailed: ' + size(f.maxFailed || '0'), '  rollbackOnFailure: ' + (f.rollback ? 'true' : 'false'));
  if (f.health.trim()) {
    lines.push('healthCheck:', '  command: [' + list(f.health).map(q).join(', ') + ']', '  retries: ' + (Number(f.retries) || 1),
      '  interval: ' + q(f.interval || '2s'));
  }
  return lines.join('\n') + '\n';
}

export async function render(main) {
  const [packages, groups] = await Promise.all([api('GET', 'packages'), api('GET', 'groups')]);
  const pkg = h('select', { id: 'package' }, Object.keys(packages).sort().map((n) => h('option', { value: n }, n)));
  const version = h('select', { id: 'version' });
  const fillVersions = () => fill(version, (packages[pkg.value] || []).slice().reverse().map((v) => h('option', { value: v }, v)));
  pkg.addEventListener('change', () => { fillVersions(); update(); });
  fillVersions();
  const groupBoxes = groups.map((g) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: g.name, 'data-group': g.name }), ' ' + g.name));
  const input = (id, value, size) => h('input', { type: 'text', id, value, size: size || 12 });
  const servers = input('servers', '', 30);
  const selector = input('target-selector', '', 24);
  const canary = h('input', { type: 'number', id: 'canary', value: 0, min: 0 });
  const batch = input('batch', '100%', 6);
  const maxFailed = input('max-failed', '0', 6);
  const rollback = h('input', { type: 'checkbox', id: 'rollback' });
  const health = input('health', '', 40);
  const retries = h('input', { type: 'number', id: 'retries', value: 3, min: 1 });
  const interval = input('interval', '2s', 6);
  const text = h('textarea', { id: 'plan', rows: 16, spellcheck: false });
  const planFile = h('input', { type: 'file', id: 'plan-file', accept: '.yaml,.yml,.json' });
  const note = h('div', { id: 'new-message' });
  const preview = h('div', { id: 'preview' });
  const start = h('button', { type: 'button', id: 'start', disabled: true }, 'Start');
  let previewed = null;

  function update() {
    text.value = planText({ pkg: pkg.value, version: version.value, groups: groupBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
      servers: servers.value, selector: selector.value, canary: canary.value, batch: batch.value, maxFailed: maxFailed.value,
      rollback: rollback.checked, health: health.value, retries: retries.value, interval: interval.value });
    stale();
  }
  function stale() {
    previewed = null;
    start.disabled = true;
    fill(preview);
  }
  const contentType = () => (text.value.trim().startsWith('{') ? 'application/json' : 'application/yaml');

  async function doPreview() {
    fill(note);
    try {
      const nodes = await api('POST', 'deployments/preview', text.value, contentType());
      previewed = text.value;
      start.disabled = nodes.every((n) => n.noop || n.leftOut);
      const batches = {};
      nodes.forEach((n) => { (batches[n.batch] = batches[n.batch] || []).push(n); });
      fill(preview, h('h2', {}, 'Preview: ' + nodes.length + ' servers'),
        h('table', { id: 'preview-table' }, h('thead', {}, h('tr', {}, ['Batch', 'Server', 'Now', 'After', 'Change', 'Status', 'Note'].map((c) => h('th', {}, c)))),
          h('tbody', {}, Object.keys(batches).sort((a, b) => a - b).flatMap((b) => batches[b].map((n) => h('tr', { 'data-server': n.serverId },
            h('td', {}, n.leftOut ? '—' : (Number(b) + 1) + (n.canary ? ' (canary)' : '')), h('td', {}, n.serverId),
            h('td', {}, n.currentVersion || '∅'), h('td', {}, n.targetVersion || '∅'),
            h('td', {}, n.leftOut ? 'left out' : n.noop ? 'no change' : 'changes'), h('td', {}, badge(n.liveness)),
            h('td', { title: n.source ? n.source.between.join('\n') : '' }, [n.leftOut, n.cordoned ? 'cordoned' : null,
              n.source ? 'revision ' + (n.source.from || 'none') + ' → ' + n.source.to : null, n.inventoryNote, n.rollbackNote]
              .filter(Boolean).join('; '))))))));
    } catch (e) {
      stale();
      fill(note, message(e.message, 'error'));
    }
  }

  start.addEventListener('click', async () => {
    if (previewed !== text.value) return stale();
    start.disabled = true;
    try {
      const d = await api('POST', 'deployments', text.value, contentType());
      go('deployments/' + d.id);
    } catch (e) {
      start.disabled = false;
      fill(note, message(e.message, 'error'));
    }
  });
  planFile.addEventListener('change', async () => {
    if (planFile.files[0]) { text.value = await planFile.files[0].text(); stale(); }
  });
  text.addEventListener('input', stale);
  for (const el of [version, servers, selector, canary, batch, maxFailed, rollback, health, retries, interval, ...groupBoxes.map((l) => l.firstChild)]) {
    el.addEventListener('input', update);
    el.addEventListener('change', update);
  }

  fill(main, h('h1', {}, 'New deployment'),
    h('div', { class: 'split' },
      h('form', { class: 'card', id: 'new-form', onsubmit: (e) => e.preventDefault() },
        h('label', { for: 'package' }, 'Package'), pkg, ' ', version,
        h('label', {}, 'Groups'), groupBoxes.length ? groupBoxes : h('span', { class: 'muted' }, 'no groups'),
        h('label', { for: 'servers' }, 'Servers'), servers,
        h('label', { for: 'target-selector' }, 'Label selector'), selector,
        h('label', { for: 'canary' }, 'Canary, batch size, failure budget'), canary, ' ', batch, ' ', maxFailed,
        h('label', { for: 'rollback', class: 'inline' }, rollback, ' Roll back changed nodes when the budget is exceeded'),
        h('label', { for: 'health' }, 'Health check command (argv, no shell), retries, interval'), health, ' ', retries, ' ', interval),
      h('div', { class: 'card' },
        h('label', { for: 'plan' }, 'Plan file (edit, paste, or load one)'), text, planFile,
        h('div', {}, h('button', { type: 'button', id: 'preview-button', class: 'secondary', onclick: doPreview }, 'Preview'), start))),
    note, preview);
  update();
}
