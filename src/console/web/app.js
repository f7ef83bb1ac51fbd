// The enforcement console page: plain DOM, no build step. Every value that came from a report or an
// alert is put on the page as text (textContent / text nodes), never parsed as HTML.

const main = document.getElementById('main');
const session = {
  get token() { return sessionStorage.getItem('ree-token'); },
  get name() { return sessionStorage.getItem('ree-name'); },
  save(token, name) { sessionStorage.setItem('ree-token', token); sessionStorage.setItem('ree-name', name); },
  clear() { sessionStorage.removeItem('ree-token'); sessionStorage.removeItem('ree-name'); },
};

const FILTERS = ['rule', 'severity', 'status', 'producer', 'client', 'material', 'licence', 'from', 'to', 'q'];
const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const STATUSES = ['NEW', 'ACKNOWLEDGED', 'CONFIRMED', 'FALSE_POSITIVE'];
const PAGE_SIZE = 50;
/** Evidence entries that are the limits a finding was judged against. */
const THRESHOLD_KEY = /threshold|tolerance|limit|grace|quota|max|min|band|allowed|expected/i;

/** Builds an element; string children become text nodes, so nothing here is ever parsed as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const when = (ms) => (ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
const severity = (s) => el('span', { class: `sev sev-${SEVERITIES.includes(s) ? s : 'LOW'}` }, s);
const link = (hash, text) => el('a', { href: hash }, text);
const inboxLink = (filters, text) => link(`#/?${new URLSearchParams(filters)}`, text);

class Unauthorized extends Error {}
/** The alert changed after the page read it (409): the page reloads it and says so. */
class Conflict extends Error {}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...options.headers, authorization: `Bearer ${session.token}` } });
  if (res.status === 401) throw new Unauthorized('wrong token');
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('application/json') ? await res.json() : await res.text();
  if (res.status === 409) throw new Conflict(body.error ?? 'changed meanwhile');
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

// ---- login -------------------------------------------------------------------------------------

function loginView(message) {
  document.getElementById('nav').hidden = true;
  const name = el('input', { name: 'name', required: true, autocomplete: 'username', placeholder: 'your name (shown in the history)', value: session.name ?? '' });
  const token = el('input', { name: 'token', type: 'password', required: true, autocomplete: 'current-password', placeholder: 'console token' });
  const error = el('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = el(
    'form',
    { class: 'login card', on: { submit: (e) => { e.preventDefault(); void login(name.value.trim(), token.value, error); } } },
    el('h1', {}, 'Enforcement console'),
    el('label', {}, 'Name', name),
    el('label', {}, 'Token', token),
    el('button', { class: 'primary', type: 'submit' }, 'Log in'),
    error,
  );
  show(form);
  name.focus();
}

async function login(name, token, error) {
  session.save(token, name);
  try {
    await api('/api/alerts?limit=1');
    route();
  } catch (err) {
    session.clear();
    error.textContent = err instanceof Unauthorized ? 'Wrong token.' : `Cannot log in: ${err.message}`;
  }
}

// ---- live updates (server-sent events over fetch, so the token travels in a header) ------------

const live = { controller: null, listeners: new Set() };

async function followStream() {
  if (live.controller) return;
  const controller = new AbortController();
  live.controller = controller;
  const badge = document.getElementById('live');
  try {
    const res = await fetch('/api/stream', { headers: { authorization: `Bearer ${session.token}` }, signal: controller.signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    badge.textContent = '● live';
    badge.classList.add('on');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data) for (const listener of live.listeners) listener(type, JSON.parse(data));
      }
    }
  } catch {
    // Reconnect below; an abort (log out) ends it for good.
  }
  badge.textContent = '○ offline';
  badge.classList.remove('on');
  live.controller = null;
  if (!controller.signal.aborted && session.token) setTimeout(() => void followStream(), 2000);
}

function onLive(listener) {
  live.listeners.clear();
  live.listeners.add(listener);
}

// ---- inbox -------------------------------------------------------------------------------------

function filtersFromHash() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return Object.fromEntries(FILTERS.concat('offset').filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
}

function setFilters(filters) {
  const clean = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '' && v !== undefined));
  location.hash = `#/?${new URLSearchParams(clean)}`;
}

/** datetime-local inputs are in the browser's zone; the API takes ISO-8601. */
const toIso = (local) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');

async function inboxView() {
  const filters = filtersFromHash();
  const offset = Number(filters.offset ?? 0);
  const query = new URLSearchParams({ ...filters, offset: String(offset), limit: String(PAGE_SIZE) });
  const page = await api(`/api/alerts?${query}`);

  const field = (name, label, input) => el('label', {}, label, input ?? el('input', { name, value: filters[name] ?? '' }));
  const choice = (name, options) =>
    el('select', { name }, el('option', { value: '' }, 'any'), options.map((o) => el('option', { value: o, selected: filters[name] === o }, o)));
  const rules = [...new Set([...Object.keys(page.counts.rule), filters.rule].filter(Boolean))].sort();
  const form = el(
    'form',
    {
      class: 'filters',
      on: {
        submit: (e) => {
          e.preventDefault();
          const data = Object.fromEntries(new FormData(form));
          setFilters({ ...data, from: toIso(data.from), to: toIso(data.to) });
        },
      },
    },
    field('q', 'Search', el('input', { name: 'q', type: 'search', value: filters.q ?? '', placeholder: 'id, name, report…' })),
    field('rule', 'Rule', choice('rule', rules)),
    field('severity', 'Severity', choice('severity', SEVERITIES)),
    field('status', 'Status', choice('status', STATUSES)),
    field('producer', 'Producer'),
    field('client', 'Client'),
    field('material', 'Material'),
    field('licence', 'Licence'),
    field('from', 'Event time from', el('input', { name: 'from', type: 'datetime-local', value: toLocal(filters.from) })),
    field('to', 'Event time to', el('input', { name: 'to', type: 'datetime-local', value: toLocal(filters.to) })),
    el('label', {}, '\u00a0', el('button', { class: 'primary', type: 'submit' }, 'Filter')),
    el('label', {}, '\u00a0', el('button', { type: 'button', on: { click: () => setFilters({}) } }, 'Clear')),
  );

  const { offset: _page, ...unpaged } = filters;
  const chips = (counts, key) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => el('a', { class: 'chip', href: `#/?${new URLSearchParams({ ...unpaged, [key]: name })}` }, `${name}: ${n}`));

  const rows = el('tbody', {}, page.alerts.map((row) => alertRow(row)));
  const table = el(
    'table',
    { id: 'alerts' },
    el('thead', {}, el('tr', {}, ['Detected', 'Severity', 'Rule', 'Producer', 'Client', 'Summary', 'Event time', 'Status', 'Assignee'].map((h) => el('th', {}, h)))),
    rows,
  );
  const last = Math.min(offset + PAGE_SIZE, page.total);
  const pager = el(
    'div',
    { class: 'pager' },
    el('button', { type: 'button', disabled: offset === 0, on: { click: () => setFilters({ ...filters, offset: String(Math.max(0, offset - PAGE_SIZE)) }) } }, '← Newer'),
    el('span', { id: 'range' }, page.total === 0 ? 'no alerts match' : `${offset + 1}–${last} of ${page.total}`),
    el('button', { type: 'button', disabled: last >= page.total, on: { click: () => setFilters({ ...filters, offset: String(offset + PAGE_SIZE) }) } }, 'Older →'),
    el('span', { id: 'pending', class: 'muted' }),
  );
  show(
    el('h1', {}, 'Alerts'),
    form,
    el('div', { class: 'counts', id: 'counts' }, chips(page.counts.severity, 'severity'), chips(page.counts.rule, 'rule'), chips(page.counts.status, 'status')),
    pager,
    table,
  );

  // New alerts are fetched again with the filters (the server knows which match); an unfiltered
  // first page takes them in at the top as they come.
  let refresh = null;
  onLive(() => {
    if (offset > 0) {
      document.getElementById('pending').textContent = 'new alerts above';
      return;
    }
    clearTimeout(refresh);
    refresh = setTimeout(() => void refreshRows(rows, query, page), 300);
  });
}

async function refreshRows(rows, query, previous) {
  if (!rows.isConnected) return;
  const page = await api(`/api/alerts?${query}`);
  const seen = new Set(previous.alerts.map((r) => r.alertId));
  rows.replaceChildren(...page.alerts.map((row) => alertRow(row, !seen.has(row.alertId))));
  previous.alerts = page.alerts;
  const last = Math.min(page.offset + PAGE_SIZE, page.total);
  document.getElementById('range').textContent = page.total === 0 ? 'no alerts match' : `${page.offset + 1}–${last} of ${page.total}`;
}

function alertRow(row, fresh = false) {
  return el(
    'tr',
    { class: fresh ? 'row fresh' : 'row', dataset: { alertId: row.alertId }, on: { click: () => { location.hash = `#/alert/${encodeURIComponent(row.alertId)}`; } } },
    el('td', {}, when(row.detectedAt)),
    el('td', {}, severity(row.severity)),
    el('td', {}, row.ruleId),
    el('td', {}, row.producerId),
    el('td', {}, row.clientId ?? ''),
    el('td', { class: 'summary-cell' }, row.summary),
    el('td', {}, when(row.eventTime)),
    el('td', { class: 'status' }, row.status),
    el('td', {}, row.assignee ?? ''),
  );
}

// ---- one alert ---------------------------------------------------------------------------------

async function alertView(alertId, notice = '') {
  const detail = await api(`/api/alerts/${encodeURIComponent(alertId)}`);
  const a = detail.alert;
  const evidence = Object.entries(a.evidence);
  const facts = [
    ['Alert id', a.alertId],
    ['Rule', `${a.ruleId} v${a.ruleVersion}`],
    ['Revision', a.revision ?? (detail.revisions.length > 1 ? `${detail.revisions.length} received` : null)],
    ['Score', String(a.score)],
    ['Producer', a.producerId],
    ['Client', a.clientId],
    ['Licence', a.licenceId],
    ['Event time', when(a.eventTime)],
    ['Window', a.windowStart ? `${when(a.windowStart)} – ${when(a.windowEnd)}` : null],
    ['Detected', when(a.detectedAt)],
    ['Status', `${detail.status.status}${detail.status.assignee ? ` (assigned to ${detail.status.assignee})` : ''}`],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');

  const related = [
    inboxLink({ producer: a.producerId }, `${detail.related.producer} alert(s) of producer ${a.producerId}`),
    a.clientId ? inboxLink({ client: a.clientId }, `${detail.related.client} alert(s) of client ${a.clientId}`) : null,
    a.licenceId ? inboxLink({ licence: a.licenceId }, `${detail.related.licence} alert(s) under licence ${a.licenceId}`) : null,
  ].filter(Boolean);

  show(
    el('p', {}, link('#/', '← Inbox')),
    el('h1', {}, severity(a.severity), ' ', a.ruleId),
    el('div', { class: 'card' }, el('p', { class: 'summary', id: 'summary' }, a.summary), el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))),
    el('h2', {}, 'Evidence'),
    el(
      'table',
      { id: 'evidence' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Measure'), el('th', {}, 'Value'))),
      el('tbody', {}, evidence.map(([k, v]) => el('tr', { class: THRESHOLD_KEY.test(k) ? 'threshold' : undefined }, el('td', {}, k), el('td', {}, v)))),
    ),
    el('p', { class: 'muted' }, 'Highlighted rows are the thresholds the finding was judged against.'),
    el('h2', {}, 'Reports behind it'),
    reportsTable(detail.reports),
    el('h2', {}, 'Related'),
    el('ul', {}, related.map((l) => el('li', {}, l))),
    el('h2', {}, 'Triage'),
    triageForm(a.alertId, detail.status.changes.at(-1)?.changeId ?? null, notice),
    el('h2', {}, 'History'),
    historyTable(detail),
  );
  onLive((type, row) => {
    if (row.alertId === alertId && document.getElementById('summary')) void alertView(alertId);
  });
}

function reportsTable(reports) {
  return el(
    'table',
    { id: 'subjects' },
    el('thead', {}, el('tr', {}, ['Report', 'Kind', 'Event time', 'Producer', 'Key fields', ''].map((h) => el('th', {}, h)))),
    el(
      'tbody',
      {},
      reports.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, el('code', {}, r.reportId)),
          el('td', {}, r.kind ?? 'not read by this console'),
          el('td', {}, when(r.occurredAt)),
          el('td', {}, r.producerId ?? ''),
          el('td', {}, Object.entries(r.fields).map(([k, v]) => el('div', {}, el('span', { class: 'muted' }, `${k} `), v))),
          el('td', {}, inboxLink({ q: r.reportId }, 'alerts naming it')),
        ),
      ),
    ),
  );
}

/** lastChangeId: the newest change this page shows, so a change made meanwhile is not overwritten unseen. */
function triageForm(alertId, lastChangeId, notice) {
  const note = el('input', { name: 'note', placeholder: 'note (optional)', size: 40 });
  const assignee = el('input', { name: 'assignee', placeholder: 'assignee' });
  const error = el('span', { class: 'error', role: 'alert' }, notice);
  const send = async (body) => {
    try {
      await api(`/api/alerts/${encodeURIComponent(alertId)}/triage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, by: session.name || 'investigator', lastChangeId, ...(note.value.trim() ? { note: note.value } : {}) }),
      });
      await alertView(alertId);
    } catch (err) {
      if (err instanceof Conflict) await alertView(alertId, `Not saved: ${err.message}. The alert above is now up to date; check it and choose again.`);
      else error.textContent = err.message;
    }
  };
  const button = (text, body, cls) => el('button', { type: 'button', class: cls, on: { click: () => void send(typeof body === 'function' ? body() : body) } }, text);
  return el(
    'div',
    { class: 'triage card', id: 'triage' },
    note,
    button('Acknowledge', { action: 'acknowledge' }),
    assignee,
    button('Assign', () => ({ action: 'assign', assignee: assignee.value })),
    button('Close: confirmed', { action: 'close', verdict: 'CONFIRMED' }, 'primary'),
    button('Close: false positive', { action: 'close', verdict: 'FALSE_POSITIVE' }),
    button('Reopen', { action: 'reopen' }),
    error,
  );
}

function historyTable(detail) {
  const events = [
    ...detail.revisions.map((r, i) => ({ at: r.detectedAt, who: 'detector', what: `revision ${r.revision ?? i + 1}: ${r.severity}, ${r.subjectEventIds.length} report(s)`, note: '' })),
    ...detail.status.changes.map((c) => ({ at: c.at, who: c.by, what: `${c.action} → ${c.status}${c.assignee ? ` (assignee ${c.assignee})` : ''}`, note: c.note ?? '' })),
  ].sort((x, y) => x.at - y.at);
  return el(
    'table',
    { id: 'history' },
    el('thead', {}, el('tr', {}, ['When', 'Who', 'What', 'Note'].map((h) => el('th', {}, h)))),
    el('tbody', {}, events.map((e) => el('tr', {}, el('td', {}, when(e.at)), el('td', {}, e.who), el('td', {}, e.what), el('td', {}, e.note)))),
  );
}

// ---- verdicts and rates --------------------------------------------------------------------------

async function operatorView() {
  const { rules } = await api('/api/rates');
  const pct = (r) => (r === null ? '–' : `${(r * 100).toFixed(0)} %`);
  const download = async () => {
    const text = await api('/api/verdicts/labels');
    const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    el('a', { href: url, download: 'verdict-labels.jsonl' }).click();
    URL.revokeObjectURL(url);
  };
  show(
    el('h1', {}, 'Verdicts and rule rates'),
    el('p', {}, 'Closed alerts per rule: how often investigators confirmed what the rule flagged. Export the confirmed ones as a labels file for ', el('code', {}, 'ree-sentinel backtest --labels'), '.'),
    el('p', {}, el('button', { class: 'primary', type: 'button', on: { click: () => void download() } }, 'Download verdict labels (JSON Lines)')),
    el(
      'table',
      { id: 'rates' },
      el('thead', {}, el('tr', {}, ['Rule', 'Alerts', 'Confirmed', 'False positive', 'Open', 'Confirmed rate'].map((h) => el('th', {}, h)))),
      el('tbody', {}, rules.map((r) => el('tr', {}, el('td', {}, inboxLink({ rule: r.ruleId }, r.ruleId)), el('td', {}, r.alerts), el('td', {}, r.confirmed), el('td', {}, r.falsePositive), el('td', {}, r.open), el('td', {}, pct(r.confirmedRate))))),
    ),
  );
  onLive(() => undefined);
}

// ---- routing -----------------------------------------------------------------------------------

async function route() {
  if (!session.token) return loginView();
  document.getElementById('nav').hidden = false;
  document.getElementById('who').textContent = session.name ?? '';
  void followStream();
  const hash = location.hash || '#/';
  try {
    if (hash.startsWith('#/alert/')) await alertView(decodeURIComponent(hash.slice('#/alert/'.length)));
    else if (hash.startsWith('#/operator')) await operatorView();
    else await inboxView();
  } catch (err) {
    if (err instanceof Unauthorized) {
      session.clear();
      live.controller?.abort();
      return loginView('The token was refused; log in again.');
    }
    show(el('p', { class: 'error', role: 'alert' }, `Could not load: ${err.message}`), el('p', {}, link('#/', 'Back to the inbox')));
  }
}

document.getElementById('logout').addEventListener('click', () => {
  session.clear();
  live.controller?.abort();
  loginView();
});
window.addEventListener('hashchange', () => void route());
void route();
