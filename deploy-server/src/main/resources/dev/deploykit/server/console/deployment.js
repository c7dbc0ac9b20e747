// One deployment, live: its batches as a timeline, each node's state and current step, the
// selected node's output as it streams, the failure reasons, and the controls the role allows.
//
// Built for big deployments: the page loads the deployment once, then applies the event stream
// (SSE) to a model; changes are drawn once per animation frame, and only for the node rows on
// screen (PAGE rows at a time), the counts and the timeline. window.dkMetrics says how long that
// takes (the browser tests read it).
import { h, fill, api, badge, time, can, message, link } from './lib.js';

const PAGE = 50;
const MAX_LINES = 1000;
const MAX_LOG = 200;
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'];
const NODE_STATUSES = ['PENDING', 'DISPATCHED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED', 'ROLLED_BACK'];

export async function render(main, [id]) {
  const d = await api('GET', 'deployments/' + encodeURIComponent(id));
  const metrics = { firstRender: null, eventsApplied: 0, frames: 0, maxFrameMs: 0, totalFrameMs: 0, lastSeq: 0, ended: false };
  window.dkMetrics = metrics;

  // ---- the model ----
  const nodes = new Map();
  for (const t of d.tasks) nodes.set(t.serverId, { ...t, lines: [] });
  const order = [...nodes.values()].sort((a, b) => a.batch - b.batch || a.serverId.localeCompare(b.serverId)).map((n) => n.serverId);
  const batches = d.batches.map((servers) => ({ servers, started: false, canary: false, finished: null }));
  const manualPromote = d.plan && d.plan.rollout && d.plan.rollout.manualPromote;
  let status = d.status;
  let reason = '';
  let currentBatch = -1;
  const log = [];

  // ---- what changed since the last frame ----
  const dirtyNodes = new Set();
  const newLines = [];
  const newLog = [];
  let dirtyHeader = true;
  let dirtyList = true;
  let scheduled = false;

  // ---- view state ----
  let page = 0;
  let filterStatus = '';
  let filterText = '';
  let selected = null;
  let visible = [];
  const rows = new Map();
  const fetches = {};

  function apply(e) {
    metrics.eventsApplied++;
    metrics.lastSeq = Math.max(metrics.lastSeq, e.seq || 0);
    switch (e.type) {
      case 'NodeStatusChanged': {
        const n = nodes.get(e.serverId);
        if (!n) break;
        const membershipChanged = filterStatus && n.status !== e.status;
        n.status = e.status;
        n.step = e.step;
        if (e.message) n.message = e.message;
        dirtyNodes.add(e.serverId);
        if (membershipChanged) dirtyList = true;
        dirtyHeader = true;
        if (e.status === 'FAILED' || e.status === 'ROLLED_BACK') newLog.push(e);
        break;
      }
      case 'NodeOutput': {
        const n = nodes.get(e.serverId);
        if (!n) break;
        n.lines.push(e);
        if (n.lines.length > MAX_LINES) n.lines.splice(0, n.lines.length - MAX_LINES);
        if (e.serverId === selected) newLines.push(e);
        break;
      }
      case 'ArtifactFetched': {
        // the edges of the batch's fan-out tree, and what the controller sent (-1: the transport does not count)
        const n = nodes.get(e.serverId);
        if (!n || e.controllerBytes < 0) break;
        const f = fetches[currentBatch] || (fetches[currentBatch] = { nodes: 0, relayed: 0, relays: new Set(), bytes: 0 });
        f.nodes++;
        f.bytes += e.controllerBytes;
        if (!e.relay) break;
        f.relayed++;
        f.relays.add(e.relay);
        const note = { step: 'ensure-artifact', stream: 'stdout',
          line: 'fetched through relay ' + e.relay + '; the controller sent ' + e.controllerBytes + ' bytes' };
        n.lines.push(note);
        if (e.serverId === selected) newLines.push(note);
        break;
      }
      case 'BatchStarted':
        if (batches[e.batch]) Object.assign(batches[e.batch], { started: true, canary: e.canary });
        currentBatch = e.batch;
        dirtyHeader = true;
        newLog.push(e);
        break;
      case 'BatchFinished':
        if (batches[e.batch]) batches[e.batch].finished = e;
        dirtyHeader = true;
        newLog.push(e);
        break;
      case 'DeploymentStatusChanged':
        status = e.status;
        reason = e.reason || reason;
        dirtyHeader = true;
        newLog.push(e);
        break;
      default:
        break;
    }
    schedule();
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }

  // ---- the DOM ----
  const title = h('h1', {}, d.name, ' ', h('span', { id: 'status' }));
  const reasonEl = h('div', { id: 'reason' });
  const controls = h('div', { class: 'toolbar', id: 'controls' });
  const note = h('div', { id: 'control-message' });
  const countsEl = h('div', { class: 'toolbar', id: 'counts' });
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const statusSelect = h('select', { id: 'node-filter' }, h('option', { value: '' }, 'all states'),
    NODE_STATUSES.map((s) => h('option', { value: s }, s)));
  const search = h('input', { type: 'text', id: 'node-search', placeholder: 'server id', size: 14 });
  const pager = h('div', { class: 'pager', id: 'pager' });
  const tbody = h('tbody', { id: 'nodes' });
  const outputTitle = h('h2', { id: 'output-title' }, 'Output');
  const output = h('pre', { class: 'output', id: 'output' });
  const logBody = h('tbody', { id: 'event-log' });

  statusSelect.addEventListener('change', () => { filterStatus = statusSelect.value; page = 0; dirtyList = true; schedule(); });
  search.addEventListener('input', () => { filterText = search.value.trim(); page = 0; dirtyList = true; schedule(); });

  fill(main, title, h('div', { class: 'muted' }, d.id, ' · started ', time(d.createdAt), d.startedBy ? ' by ' + d.startedBy : ''),
    reasonEl, controls, note, countsEl,
    h('h2', {}, 'Batches'), timeline,
    h('div', { class: 'split' },
      h('div', {},
        h('div', { class: 'toolbar' }, h('label', { for: 'node-filter' }, 'Nodes'), statusSelect, search, pager),
        h('table', { id: 'node-table' }, h('thead', {}, h('tr', {}, ['Server', 'Batch', 'State', 'Step', 'From → to', 'Message'].map((c) => h('th', {}, c)))),
          tbody)),
      h('div', {}, outputTitle, output, h('p', { class: 'muted', id: 'output-hint' }, 'Select a node to see its output.'))),
    h('h2', {}, 'Events'),
    h('table', { id: 'events' }, h('thead', {}, h('tr', {}, ['When', 'Event'].map((c) => h('th', {}, c)))), logBody));

  function control(action, label) {
    return h('button', { type: 'button', id: 'control-' + action, onclick: async (ev) => {
      ev.target.disabled = true;
      fill(note);
      try {
        await api('POST', 'deployments/' + encodeURIComponent(id) + '/' + action);
        fill(note, message(label + ': asked'));
      } catch (e) {
        fill(note, message(e.message, 'error'));
      } finally {
        ev.target.disabled = false;
      }
    } }, label);
  }

  function drawHeader() {
    fill(title.lastChild, badge(status));
    fill(reasonEl, reason ? message(reason, TERMINAL.includes(status) && status !== 'SUCCEEDED' ? 'error' : 'note') : null);
    const counts = {};
    for (const n of nodes.values()) counts[n.status] = (counts[n.status] || 0) + 1;
    const done = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED', 'ROLLED_BACK'].reduce((a, s) => a + (counts[s] || 0), 0);
    fill(countsEl, h('progress', { max: nodes.size || 1, value: done }), ' ' + done + '/' + nodes.size + ' done',
      NODE_STATUSES.filter((s) => counts[s]).map((s) => [' ', badge(s), ' ' + counts[s]]));
    if (can('deployer')) {
      const buttons = [];
      if (status === 'RUNNING') buttons.push(control('pause', 'Pause'));
      if (status === 'PAUSED') buttons.push(control('resume', 'Resume'));
      if (status === 'PAUSED' && manualPromote) buttons.push(control('promote', 'Promote'));
      if (!TERMINAL.includes(status)) buttons.push(control('cancel', 'Cancel'));
      if (TERMINAL.includes(status) && counts.FAILED) buttons.push(control('retry', 'Retry failed'));
      const key = buttons.map((b) => b.id).join();
      if (controls.dataset.key !== key) {
        controls.dataset.key = key;
        fill(controls, buttons);
      }
    }
    fill(timeline, batches.map((b, i) => {
      const f = b.finished;
      return h('div', { class: 'batch' + (i === currentBatch && !f ? ' current' : ''), 'data-batch': i },
        h('div', { class: 'title' }, 'Batch ' + (i + 1) + (b.canary ? ' (canary)' : '')),
        h('div', { class: 'muted' }, b.servers.length + ' node' + (b.servers.length === 1 ? '' : 's')),
        f ? h('div', {}, f.succeeded + ' ok', f.failed ? ', ' + f.failed + ' failed' : '', f.skipped ? ', ' + f.skipped + ' skipped' : '')
          : h('div', {}, b.started ? badge('RUNNING') : badge('PENDING')));
    }));
  }

  function matches(n) {
    return (!filterStatus || n.status === filterStatus) && (!filterText || n.serverId.includes(filterText));
  }

  function drawList() {
    const all = order.filter((sid) => matches(nodes.get(sid)));
    const pages = Math.max(1, Math.ceil(all.length / PAGE));
    page = Math.min(page, pages - 1);
    visible = all.slice(page * PAGE, (page + 1) * PAGE);
    rows.clear();
    fill(tbody, visible.map((sid) => {
      const cells = [h('td', {}), h('td', {}), h('td', {}), h('td', {}), h('td', {}), h('td', {})];
      const tr = h('tr', { class: 'clickable' + (sid === selected ? ' selected' : ''), 'data-server': sid, onclick: () => select(sid) }, cells);
      rows.set(sid, { tr, cells });
      drawRow(sid);
      return tr;
    }));
    fill(pager, h('button', { type: 'button', class: 'secondary', id: 'page-prev', disabled: page === 0, onclick: () => { page--; dirtyList = true; schedule(); } }, '‹'),
      'page ' + (page + 1) + ' of ' + pages + ' (' + all.length + ')',
      h('button', { type: 'button', class: 'secondary', id: 'page-next', disabled: page >= pages - 1, onclick: () => { page++; dirtyList = true; schedule(); } }, '›'));
  }

  function drawRow(sid) {
    const r = rows.get(sid);
    if (!r) return;
    const n = nodes.get(sid);
    const [c0, c1, c2, c3, c4, c5] = r.cells;
    if (!c0.firstChild) {
      c0.append(link('servers/' + encodeURIComponent(sid), sid));
      c1.textContent = String(n.batch + 1);
      c4.textContent = (n.previousVersion || '∅') + ' → ' + (n.targetVersion || '∅');
    }
    fill(c2, badge(n.status));
    c3.textContent = n.step || '';
    c5.textContent = n.message || '';
  }

  function select(sid) {
    if (selected && rows.get(selected)) rows.get(selected).tr.classList.remove('selected');
    selected = sid;
    document.getElementById('output-hint').hidden = true;
    if (rows.get(sid)) rows.get(sid).tr.classList.add('selected');
    newLines.length = 0;
    const n = nodes.get(sid);
    fill(outputTitle, 'Output of ', sid, n.step ? ' · step ' + n.step : '');
    fill(output, n.lines.map(line));
    output.scrollTop = output.scrollHeight;
  }

  function line(e) {
    return h('span', { class: e.stream }, '[' + e.step + '] ' + e.line + '\n');
  }

  function describe(e) {
    switch (e.type) {
      case 'DeploymentStatusChanged': return ['deployment ', badge(e.status), e.reason ? ' ' + e.reason : ''];
      case 'BatchStarted': return 'batch ' + (e.batch + 1) + (e.canary ? ' (canary)' : '') + ' started: ' + e.servers.length + ' nodes';
      case 'BatchFinished': {
        const f = fetches[e.batch];
        return 'batch ' + (e.batch + 1) + ' finished: ' + e.succeeded + ' ok, ' + e.failed + ' failed, ' + e.skipped + ' skipped'
          + (!f ? '' : f.relayed === 0 ? '; the controller sent ' + f.bytes + ' bytes of artifacts to ' + f.nodes + (f.nodes === 1 ? ' node' : ' nodes')
            : '; artifact to ' + f.nodes + ' nodes: ' + (f.nodes - f.relayed) + ' from the controller, ' + f.relayed + ' through '
              + f.relays.size + ' relays; the controller sent ' + f.bytes + ' bytes');
      }
      default: return [e.serverId + ' ', badge(e.status), e.step ? ' in ' + e.step : '', e.message ? ': ' + e.message : ''];
    }
  }

  function flush() {
    scheduled = false;
    const start = performance.now();
    if (dirtyHeader) { drawHeader(); dirtyHeader = false; }
    if (dirtyList) {
      drawList();
      dirtyList = false;
    } else {
      for (const sid of dirtyNodes) drawRow(sid);
    }
    dirtyNodes.clear();
    if (newLines.length) {
      const n = nodes.get(selected);
      fill(outputTitle, 'Output of ', selected, n.step ? ' · step ' + n.step : '');
      const stick = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.append(...newLines.map(line));
      while (output.childNodes.length > MAX_LINES) output.firstChild.remove();
      newLines.length = 0;
      if (stick) output.scrollTop = output.scrollHeight;
    }
    if (newLog.length) {
      for (const e of newLog) log.unshift(e);
      log.length = Math.min(log.length, MAX_LOG);
      logBody.prepend(...newLog.reverse().map((e) => h('tr', {}, h('td', {}, time(e.time)), h('td', {}, describe(e)))));
      while (logBody.childNodes.length > MAX_LOG) logBody.lastChild.remove();
      newLog.length = 0;
    }
    const took = performance.now() - start;
    metrics.frames++;
    metrics.totalFrameMs += took;
    metrics.maxFrameMs = Math.max(metrics.maxFrameMs, took);
    if (metrics.firstRender === null) metrics.firstRender = performance.now();
    for (const w of waiting.splice(0)) w();
  }

  // The browser tests time this: apply events as if they came from the stream, resolve once drawn.
  const waiting = [];
  metrics.applyAndDraw = (events) => new Promise((resolve) => {
    const t = performance.now();
    events.forEach(apply);
    waiting.push(() => resolve(performance.now() - t));
    schedule();
  });
  metrics.select = select;

  flush();

  // ---- the stream ----
  const source = new EventSource('/api/v1/deployments/' + encodeURIComponent(id) + '/events/stream?after=0');
  const onEvent = (m) => apply(JSON.parse(m.data));
  for (const type of ['NodeStatusChanged', 'NodeOutput', 'ArtifactFetched', 'BatchStarted', 'BatchFinished', 'DeploymentStatusChanged']) {
    source.addEventListener(type, onEvent);
  }
  source.addEventListener('end', () => {
    metrics.ended = true;
    source.close();
  });
  source.addEventListener('error', (m) => {
    if (m.data) {
      source.close();
      fill(note, message(JSON.parse(m.data).detail, 'error'));
    }
  });
  return () => source.close();
}
