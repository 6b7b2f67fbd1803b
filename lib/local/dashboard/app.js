// jobtable dashboard: plain JavaScript over the JSON API, no build step. The chart is uPlot
// (vendored in /vendor). The URL holds the view (queue, status, type, group, page, open job), so a link
// shows what its sender saw.
'use strict';

const PAGE_SIZE = 20;
const STATUSES = ['waiting', 'pending', 'processing', 'failed', 'cancelled', 'completed'];
const $ = (id) => document.getElementById(id);

const state = {
  queue: 'default',
  status: 'pending',
  type: '',
  group: '',
  page: 0,
  cursors: [undefined],
  job: null,
  selected: new Set(),
  paused: false,
  meta: null,
  queues: [],
  activity: null,
  page_: null,
  knownTypes: new Set(),
  knownGroups: new Set(),
  announced: '',
  listGen: 0,
  detailGen: 0,
};

// ---- API ------------------------------------------------------------------------------------

async function api(path, init) {
  const res = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(init && init.headers) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.message || `HTTP ${res.status}`);
    err.status = res.status;
    err.body = body;
    throw err;
  }
  return body;
}

const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body) });

// ---- Formatting: relative times and durations ------------------------------------------------

function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${(abs / 3_600_000).toFixed(1)} h`;
  return `${(abs / 86_400_000).toFixed(1)} d`;
}

function fmtRelative(iso) {
  if (!iso) return '–';
  const diff = Date.parse(iso) - Date.now();
  if (Math.abs(diff) < 1000) return 'just now';
  return diff > 0 ? `in ${fmtDuration(diff)}` : `${fmtDuration(diff)} ago`;
}

const msBetween = (from, to) => (from && to ? Date.parse(to) - Date.parse(from) : null);
const since = (iso) => (iso ? Date.now() - Date.parse(iso) : null);
const json = (v) => (v === null || v === undefined ? '–' : JSON.stringify(v, null, 2));
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

/** A <time> with the relative text and the absolute time as its tooltip. */
function timeEl(iso, text) {
  const t = document.createElement('time');
  if (!iso) {
    t.textContent = '–';
    return t;
  }
  t.dateTime = iso;
  t.title = new Date(iso).toLocaleString();
  t.textContent = text || fmtRelative(iso);
  return t;
}

function setTime(id, iso) {
  $(id).replaceChildren(timeEl(iso));
}

// ---- URL state --------------------------------------------------------------------------------

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.queue = p.get('queue') || state.queue;
  state.status = STATUSES.includes(p.get('status')) ? p.get('status') : 'pending';
  state.type = p.get('type') || '';
  state.group = p.get('group') || '';
  const page = Number(p.get('page') || '1');
  state.page = Number.isInteger(page) && page > 1 && p.get('cursor') ? page - 1 : 0;
  state.cursors = [];
  state.cursors[state.page] = state.page > 0 ? p.get('cursor') : undefined;
  state.job = p.get('job') || null;
}

function writeUrl(push) {
  const p = new URLSearchParams();
  p.set('queue', state.queue);
  p.set('status', state.status);
  if (state.type) p.set('type', state.type);
  if (state.group) p.set('group', state.group);
  if (state.page > 0) {
    p.set('page', String(state.page + 1));
    p.set('cursor', state.cursors[state.page]);
  }
  if (state.job) p.set('job', state.job);
  const url = `${location.pathname}?${p}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

// ---- Queues and counts ------------------------------------------------------------------------

const currentCounts = () => state.queues.find((q) => q.queue === state.queue) || null;
const capped = (q, lane) => (q.capped[lane] ? '+' : '');

function queueSummary(q) {
  return `${q.waiting}${capped(q, 'due')} waiting · ${q.delayed}${capped(q, 'due')} delayed · ${q.processing} running · ${q.failed}${capped(q, 'failed')} failed`;
}

function renderQueues(overview) {
  state.queues = overview.queues;
  if (!state.queues.some((q) => q.queue === state.queue)) state.queues.push({ queue: state.queue, waiting: 0, delayed: 0, processing: 0, failed: 0, cancelled: 0, capped: {}, oldestWaitingMs: null });
  const list = $('queue-list');
  const focused = document.activeElement && document.activeElement.dataset.queue;
  list.replaceChildren(...state.queues.map(queueItem));
  if (focused) list.querySelector(`[data-queue="${CSS.escape(focused)}"]`)?.focus();
  const d = overview.discovery;
  $('queues-note').textContent = `${plural(state.queues.length, 'queue')}${d && !d.complete ? ' (the index scan stopped early: there may be more)' : ''}. Counts read at most ${overview.cap.toLocaleString()} index entries per status (“+” marks more); this refresh cost ${overview.readUnits} read units.`;
  renderCounts();
}

function queueItem(q) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'queue';
  b.dataset.queue = q.queue;
  b.setAttribute('aria-pressed', String(q.queue === state.queue));
  const name = document.createElement('span');
  name.className = 'queue-title';
  name.textContent = q.queue;
  const summary = document.createElement('span');
  summary.className = 'queue-counts';
  summary.textContent = queueSummary(q);
  b.append(name, summary);
  b.addEventListener('click', () => chooseQueue(q.queue));
  li.append(b);
  return li;
}

function renderCounts() {
  const q = currentCounts();
  if (!q) return;
  const set = (status, text) => ($(`count-${status}`).textContent = text);
  set('pending', `${q.waiting + q.delayed}${capped(q, 'due')}`);
  set('processing', `${q.processing}${capped(q, 'due')}`);
  set('failed', `${q.failed}${capped(q, 'failed')}`);
  set('cancelled', `${q.cancelled}${capped(q, 'cancelled')}`);
  set('waiting', String(q.waitingForDependencies ?? 0));
  const done = state.activity && state.activity.available ? state.activity.minutes.reduce((a, m) => a + m.completed, 0) : null;
  set('completed', done === null ? '–' : `${done} in 1 h`);
  $('pending-split').textContent = `${q.waiting}${capped(q, 'due')} waiting to run, ${q.delayed}${capped(q, 'due')} delayed (due later)${q.oldestWaitingMs !== null ? `; the oldest has waited ${fmtDuration(q.oldestWaitingMs)}` : ''}.`;
  const summary = `${state.queue}: ${queueSummary(q)}`;
  if (summary !== state.announced) {
    $('live-status').textContent = summary;
    state.announced = summary;
  }
}

// ---- Activity chart ---------------------------------------------------------------------------

let chart = null;

function chartOptions(width) {
  return {
    width,
    height: 170,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, max)] } },
    axes: [{ stroke: '#5b6475' }, { stroke: '#5b6475', size: 40 }],
    legend: { show: false },
    cursor: { points: { size: 6 } },
    series: [
      { label: 'minute' },
      { label: 'completed', stroke: '#17713a', fill: 'rgba(23,113,58,0.10)', width: 2, points: { show: false } },
      { label: 'failed', stroke: '#b3261e', width: 2, points: { show: false } },
      { label: 'retried', stroke: '#7a5a00', width: 1.5, dash: [4, 3], points: { show: false } },
    ],
  };
}

function renderChart(activity) {
  const box = $('chart');
  const m = activity.minutes;
  const data = [m.map((x) => x.t / 1000), m.map((x) => x.completed), m.map((x) => x.failed), m.map((x) => x.retried)];
  if (typeof uPlot === 'undefined') {
    box.textContent = 'The chart library did not load.';
    return;
  }
  if (!chart) {
    chart = new uPlot(chartOptions(box.clientWidth || 300), data, box);
    new ResizeObserver(() => chart.setSize({ width: box.clientWidth, height: 170 })).observe(box);
  } else chart.setData(data);
}

function renderActivity(activity) {
  state.activity = activity;
  for (const t of activity.byType) state.knownTypes.add(t.type);
  renderKnownTypes();
  if (!activity.available) {
    $('activity-summary').textContent = 'No activity to show.';
    $('activity-note').textContent = activity.note || '';
    $('type-rows').replaceChildren();
    renderCounts();
    return;
  }
  renderChart(activity);
  const total = (k) => activity.minutes.reduce((a, m) => a + m[k], 0);
  $('activity-summary').textContent = `Per minute, last 60 minutes: ${total('completed')} completed, ${total('failed')} failed for good, ${total('retried')} attempts failed and retried.`;
  $('type-rows').replaceChildren(...(activity.byType.length ? activity.byType.map(typeRow) : [emptyRow(5, 'Nothing finished in the last hour.')]));
  $('activity-note').textContent = `From ${activity.source}, observed since ${new Date(activity.observedSince).toLocaleString()}; reading it costs no table reads.${activity.note ? ` ${activity.note}` : ''}`;
  renderCounts();
}

// ---- Flow-control limits ---------------------------------------------------------------------

function limitText(limits) {
  const parts = [];
  const rate = (r) => `${r.limit} starts per ${fmtDuration(r.intervalMs)}`;
  if (limits.concurrency !== undefined) parts.push(`at most ${limits.concurrency} running in the queue`);
  if (limits.rate) parts.push(`${rate(limits.rate)} in the queue`);
  if (limits.group && limits.group.concurrency !== undefined) parts.push(`at most ${limits.group.concurrency} running per group`);
  if (limits.group && limits.group.rate) parts.push(`${rate(limits.group.rate)} per group`);
  return parts.join(', ');
}

/** Shows running / limit per group and the jobs waiting on a limit; hidden for a queue with neither limits nor groups. */
function renderLimits(view) {
  const section = $('limits');
  section.hidden = !view.limits && view.groups.length === 0;
  if (section.hidden) return;
  const plus = view.capped ? '+' : '';
  const queuePart = view.limit !== null ? `${view.running}${plus} / ${view.limit} running in the queue` : `${view.running}${plus} running`;
  $('limits-summary').textContent = `${view.limits ? `Limits: ${limitText(view.limits)}.` : 'No limits on this queue.'} ${queuePart}; ${view.waitingOnLimit}${plus} due ${view.waitingOnLimit === 1 ? 'job waits' : 'jobs wait'} on a limit.`;
  const rows = $('group-rows');
  const focused = rows.contains(document.activeElement) ? document.activeElement.dataset.group : undefined;
  for (const g of view.groups) state.knownGroups.add(g.group);
  renderKnownGroups();
  rows.replaceChildren(...(view.groups.length ? view.groups.map(groupRow) : [emptyRow(4, 'No job with a group is due or running.')]));
  if (focused !== undefined) rows.querySelector(`button[data-group="${CSS.escape(focused)}"]`)?.focus();
  $('limits-note').textContent = `Read from the index (up to 200 entries per shard${view.capped ? ': some shards had more, so counts are lower bounds' : ''}); rate limits are not shown per group.`;
}

/** A button that filters the job list by `group` (in the Limits panel and the job detail). */
function groupLink(group) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'link group-link';
  b.textContent = group;
  b.dataset.group = group;
  b.setAttribute('aria-label', `Show the jobs of group ${group}`);
  b.addEventListener('click', () => chooseGroup(group).then(() => $('jobs-heading').focus()));
  return b;
}

function groupRow(g) {
  const tr = document.createElement('tr');
  const name = document.createElement('td');
  name.append(groupLink(g.group));
  tr.append(name, cell(g.limit !== null ? `${g.running} / ${g.limit}` : String(g.running), 'num'), cell(String(g.due), 'num'), cell(String(g.waitingOnLimit), 'num'));
  return tr;
}

function typeRow(t) {
  const tr = document.createElement('tr');
  tr.append(cell(t.type), cell(String(t.completed), 'num'), cell(String(t.failed), 'num'), cell(String(t.retried), 'num'), cell(fmtDuration(t.meanDurationMs), 'num'));
  return tr;
}

function emptyRow(span, text) {
  const tr = document.createElement('tr');
  const td = cell(text);
  td.colSpan = span;
  tr.append(td);
  return tr;
}

function renderKnownGroups() {
  const groups = [...state.knownGroups].sort();
  const list = $('known-groups');
  if (list.options.length === groups.length) return;
  list.replaceChildren(...groups.map((g) => new Option(g, g)));
}

function renderKnownTypes() {
  const types = [...new Set([...(state.meta ? state.meta.jobTypes : []), ...state.knownTypes])].sort();
  const list = $('known-types');
  if (list.options.length === types.length) return;
  list.replaceChildren(...types.map((t) => new Option(t, t)));
}

// ---- The job list -----------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** The "when" and "how long" columns, by status. */
function timing(job) {
  switch (job.status) {
    case 'pending': {
      const due = Date.parse(job.runAt) <= Date.now();
      return [timeEl(job.runAt, `due ${fmtRelative(job.runAt)}`), due ? `waiting ${fmtDuration(since(job.runAt))}` : 'delayed'];
    }
    case 'processing':
      return [timeEl(job.startedAt, `started ${fmtRelative(job.startedAt)}`), `running ${fmtDuration(since(job.startedAt))}`];
    case 'waiting':
      return [timeEl(job.createdAt, `enqueued ${fmtRelative(job.createdAt)}`), waitsFor(job)];
    default:
      return [timeEl(job.finishedAt, fmtRelative(job.finishedAt)), job.startedAt && job.status !== 'cancelled' ? `ran ${fmtDuration(msBetween(job.startedAt, job.finishedAt))}` : '–'];
  }
}

/** What a job waits for, in a few words: `48 of 200 children left`. */
function waitsFor(job) {
  const d = job.dependencies;
  if (!d) return '–';
  const what = d.kind === 'children' ? 'children' : 'jobs';
  return `${d.left} of ${d.total} ${what} left${d.failed ? `, ${d.failed} failed` : ''}${d.incomplete ? ' (enqueue incomplete)' : ''}`;
}

const HEADINGS = { waiting: ['Enqueued', 'Waits for'], pending: ['Due', 'Waiting'], processing: ['Started', 'Running'], completed: ['Finished', 'Ran for'], failed: ['Failed', 'Ran for'], cancelled: ['Cancelled', '–'] };

function jobRow(job) {
  const tr = document.createElement('tr');
  tr.dataset.jobId = job.id;
  if (job.id === state.job) tr.setAttribute('aria-current', 'true');
  const pick = document.createElement('td');
  pick.className = 'c-select';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = state.selected.has(job.id);
  box.setAttribute('aria-label', `Select job ${job.id}`);
  box.addEventListener('change', () => toggleSelected(job.id, box.checked));
  pick.append(box);
  const idCell = document.createElement('td');
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link';
  open.textContent = `${job.id.slice(0, 8)}…`;
  open.setAttribute('aria-label', `Show job ${job.id} (${job.type})`);
  open.dataset.jobId = job.id;
  idCell.append(open);
  const [when, howLong] = timing(job);
  const whenCell = document.createElement('td');
  whenCell.append(when);
  tr.append(pick, idCell, cell(job.type, 'type'), cell(`${job.attempts}/${job.maxAttempts}`, 'num'), whenCell, cell(howLong));
  // The whole row opens the job; the checkbox and the button keep their own behaviour.
  tr.addEventListener('click', (e) => {
    if (e.target.closest('input')) return;
    openJob(job.id, true);
  });
  return tr;
}

function renderList(page) {
  state.page_ = page;
  for (const j of page.jobs) state.knownTypes.add(j.type);
  for (const j of page.jobs) if (j.group) state.knownGroups.add(j.group);
  renderKnownTypes();
  renderKnownGroups();
  const rows = $('job-rows');
  const focusedId = document.activeElement && document.activeElement.closest && document.activeElement.closest('tr') ? document.activeElement.closest('tr').dataset.jobId : null;
  const focusedBox = focusedId && document.activeElement.type === 'checkbox';
  rows.replaceChildren(...page.jobs.map(jobRow));
  if (focusedId) rows.querySelector(`tr[data-job-id="${CSS.escape(focusedId)}"] ${focusedBox ? 'input' : 'button'}`)?.focus();
  $('empty').classList.toggle('invisible', page.jobs.length > 0);
  $('empty').textContent = page.jobs.length ? '' : `No ${state.status} jobs${filterWords()} in ${state.queue}${page.cursor ? ' on this page; try the next one' : ''}.`;
  const [when, dur] = HEADINGS[state.status];
  $('when-heading').textContent = when;
  $('dur-heading').textContent = dur;
  $('select-page').checked = page.jobs.length > 0 && page.jobs.every((j) => state.selected.has(j.id));
  $('next-page').disabled = !page.cursor;
  $('prev-page').disabled = state.page === 0 || state.cursors[state.page - 1] === undefined && state.page - 1 !== 0;
  $('first-page').disabled = state.page === 0;
  $('page-label').textContent = `Page ${state.page + 1}`;
  $('scan-note').hidden = state.status !== 'completed';
  renderBulk();
}

function listPath() {
  const p = new URLSearchParams({ status: state.status, queue: state.queue, limit: String(PAGE_SIZE) });
  if (state.type) p.set('type', state.type);
  if (state.group) p.set('group', state.group);
  const cursor = state.cursors[state.page];
  if (cursor) p.set('cursor', cursor);
  return `/jobs?${p}`;
}

/** The list's filters in words: ` of type send_email in group acme`. */
const filterWords = () => `${state.type ? ` of type ${state.type}` : ''}${state.group ? ` in group ${state.group}` : ''}`;

async function loadList() {
  const gen = ++state.listGen;
  try {
    const page = await api(listPath());
    if (gen === state.listGen) renderList(page);
  } catch (err) {
    if (gen !== state.listGen || err.status !== 400 || !badFilter(err.body && err.body.field, err.message)) throw err;
  }
}

/** A filter the API refused (a malformed type or group): marks its field and says why, with an empty list. */
function badFilter(field, message) {
  const input = { type: $('type-filter'), group: $('group-filter') }[field];
  if (!input) return false;
  input.setAttribute('aria-invalid', 'true');
  $('search-message').className = 'message error';
  $('search-message').textContent = `Filter by ${field}: ${message}`;
  $('job-rows').replaceChildren();
  $('empty').classList.remove('invisible');
  $('empty').textContent = '';
  return true;
}

// ---- Job detail -------------------------------------------------------------------------------

/** How to label a job's `error`: the error of which attempt, and whether it is the outcome. */
function errorLabel(job) {
  if (!job.error) return 'Error';
  if (job.status === 'completed') return `Error of attempt ${Math.max(1, job.attempts - 1)} (an earlier attempt; attempt ${job.attempts} completed)`;
  if (job.status === 'processing') return `Error of attempt ${Math.max(1, job.attempts - 1)} (an earlier attempt; attempt ${job.attempts} is running)`;
  if (job.status === 'pending' && job.attempts > 0) return `Error of attempt ${job.attempts} (will retry)`;
  if (job.status === 'pending') return 'Error before it was retried by hand';
  return `Error of attempt ${job.attempts} (final)`;
}

function renderProgress(job) {
  const p = job.progress;
  const bar = $('d-progress');
  bar.max = p && p.total ? p.total : 1;
  bar.value = p && p.total ? p.current : job.status === 'completed' ? 1 : 0;
  $('d-progress-text').textContent = p ? `${p.current}${p.total ? ` / ${p.total}` : ''}${p.message ? ` – ${p.message}` : ''}` : job.status === 'completed' ? 'done' : '–';
}

/** Where a FIFO job stands in its group: its position, and who holds the group now. */
function fifoText(job, group) {
  const mine = `position ${job.fifoSeq} of ${group.last}`;
  if (group.head === null) return `${mine}; group idle (every job finished)`;
  if (group.head === job.fifoSeq) return `${mine}; this job holds the group${group.behind ? ` (${group.behind} waiting behind it)` : ''}`;
  if (group.head > job.fifoSeq) return `${mine}; the group has moved on to position ${group.head}`;
  return `${mine}; waiting: position ${group.head} holds the group (job ${group.headJobId})`;
}

/** The job's group as a link to the list filtered by it (kept as it is while the same, so that focus stays). */
function renderDetailGroup(group) {
  const dd = $('d-group');
  if (!group) return dd.replaceChildren('–');
  state.knownGroups.add(group);
  if (dd.firstElementChild && dd.firstElementChild.dataset.group === group) return;
  dd.replaceChildren(groupLink(group));
}

function renderDetail(job) {
  $('detail-empty').hidden = !!job;
  $('detail-body').hidden = !job;
  if (!job) return;
  $('d-id').textContent = job.id;
  $('d-type').textContent = job.type;
  $('d-queue').textContent = job.queue;
  renderDetailGroup(job.group);
  $('d-status').textContent = job.status;
  $('d-status').className = `badge ${job.status}`;
  $('d-priority').textContent = String(job.priority);
  $('d-attempts').textContent = `${job.attempts} of ${job.maxAttempts}`;
  renderProgress(job);
  setTime('d-created', job.createdAt);
  setTime('d-run-at', job.runAt);
  setTime('d-started', job.startedAt);
  setTime('d-finished', job.finishedAt);
  setTime('d-lease', job.status === 'processing' ? job.leaseUntil : null);
  setTime('d-expires', job.expiresAt);
  $('d-queued-for').textContent = job.startedAt ? fmtDuration(Math.max(0, msBetween(job.runAt, job.startedAt))) : job.status === 'pending' && Date.parse(job.runAt) <= Date.now() ? `${fmtDuration(since(job.runAt))} so far` : '–';
  $('d-ran-for').textContent = job.status === 'processing' ? `${fmtDuration(since(job.startedAt))} so far` : job.startedAt && job.finishedAt ? fmtDuration(msBetween(job.startedAt, job.finishedAt)) : '–';
  $('d-key').textContent = job.idempotencyKey || '–';
  $('d-debounce').textContent = job.debounceKey || '–';
  $('d-fifo').textContent = job.fifoSeq ? `position ${job.fifoSeq}` : '–';
  $('d-error-label').textContent = errorLabel(job);
  $('d-error').textContent = job.error || '–';
  $('d-error').className = job.error && job.status !== 'completed' ? 'error-text' : '';
  $('d-payload').textContent = json(job.payload);
  $('d-result').textContent = json(job.result);
  $('d-waits').textContent = job.dependencies ? `${waitsFor(job)}; on failure: ${job.dependencies.onFailure}` : '–';
  $('d-parent').textContent = job.parentId || '–';
  $('cancel-job').disabled = job.status !== 'pending' && job.status !== 'waiting';
  $('retry-job').disabled = job.status !== 'failed' && job.status !== 'cancelled';
}

/**
 * Reads the open job and shows it. Reads overlap (the timer's refresh, opening a job, an action's
 * refresh), so an answer is shown only if no detail read started after its own: a late answer for
 * the job open before would otherwise replace the one open now, or an older state of it a newer one.
 */
async function loadDetail() {
  const gen = ++state.detailGen;
  const id = state.job;
  if (!id) return renderDetail(null);
  try {
    const job = await api(`/jobs/${encodeURIComponent(id)}`);
    if (gen === state.detailGen) renderDetail(job);
    if (job.fifoSeq) {
      const group = await api(`/fifo?queue=${encodeURIComponent(job.queue)}&group=${encodeURIComponent(job.group)}`);
      if (gen === state.detailGen) $('d-fifo').textContent = fifoText(job, group);
    }
  } catch (err) {
    if (gen !== state.detailGen) return;
    if (err.status !== 404 && err.status !== 400) throw err;
    renderDetail(null);
    $('action-message').textContent = `No job ${id} (it may have expired).`;
  }
}

function markOpenRow() {
  for (const tr of $('job-rows').children) {
    if (tr.dataset.jobId === state.job) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
}

async function openJob(id, focus) {
  if (id !== state.job) $('action-message').textContent = '';
  state.job = id;
  writeUrl(true);
  markOpenRow();
  await loadDetail();
  if (focus) $('detail-heading').focus();
}

// ---- Navigation -------------------------------------------------------------------------------

function resetPaging() {
  state.page = 0;
  state.cursors = [undefined];
  state.selected.clear();
}

function showView() {
  for (const el of document.querySelectorAll('.queue-name')) el.textContent = state.queue;
  for (const b of document.querySelectorAll('.status')) b.setAttribute('aria-pressed', String(b.dataset.status === state.status));
  for (const b of document.querySelectorAll('.queue')) b.setAttribute('aria-pressed', String(b.dataset.queue === state.queue));
  $('list-title').textContent = `${state.status[0].toUpperCase()}${state.status.slice(1)} jobs`;
  $('type-filter').value = state.type;
  $('group-filter').value = state.group;
  renderCounts();
}

/** After a change of view: the URL, the headings, and a fresh read of everything shown. */
function viewChanged(push) {
  writeUrl(push);
  showView();
  return refresh();
}

function chooseQueue(name) {
  state.queue = name;
  resetPaging();
  return viewChanged(true);
}

function chooseStatus(status) {
  state.status = status;
  resetPaging();
  return viewChanged(true);
}

function chooseType(type) {
  return chooseFilters(type, state.group);
}

function chooseGroup(group) {
  return chooseFilters(state.type, group);
}

/** Lists the jobs of `type` and `group` (either empty: any), from the first page. */
function chooseFilters(type, group) {
  state.type = type.trim();
  state.group = group.trim();
  for (const id of ['type-filter', 'group-filter']) $(id).removeAttribute('aria-invalid');
  if ($('search-message').textContent.startsWith('Filter by ')) $('search-message').textContent = '';
  resetPaging();
  return viewChanged(true);
}

function goPage(delta) {
  if (delta > 0) {
    if (!state.page_ || !state.page_.cursor) return;
    state.cursors[state.page + 1] = state.page_.cursor;
    state.page++;
  } else if (delta < 0) state.page = Math.max(0, state.page - 1);
  else state.page = 0;
  state.selected.clear();
  return viewChanged(true);
}

// ---- Search -----------------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const q = $('search').value.trim();
  const msg = $('search-message');
  if (!q) {
    msg.textContent = '';
    chooseFilters($('type-filter').value, $('group-filter').value);
    return;
  }
  try {
    const { matches } = await api(`/find?q=${encodeURIComponent(q)}&queue=${encodeURIComponent(state.queue)}`);
    msg.className = 'message';
    if (!matches.length) {
      msg.textContent = `No job has the id or, in queue ${state.queue}, the idempotency key “${q}”.`;
      return;
    }
    const m = matches[0];
    msg.textContent = `Found job ${m.job.id} by its ${m.how === 'id' ? 'id' : 'idempotency key'}${matches.length > 1 ? ` (and ${matches.length - 1} more match)` : ''}.`;
    await openJob(m.job.id, true);
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.message;
  }
}

// ---- Actions: one job, bulk, enqueue ----------------------------------------------------------

async function act(action) {
  const id = state.job;
  if (!id) return;
  const msg = $('action-message');
  try {
    const out = await post(`/jobs/${encodeURIComponent(id)}/${action}`, {});
    msg.className = 'message';
    msg.textContent = action === 'cancel' ? `Cancelled job ${id}.` : `Retried job ${id}: it is ${out.job ? out.job.status : 'pending'} again.`;
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.message;
  }
  await refresh();
}

const bulkAction = () => (state.status === 'pending' ? 'cancel' : state.status === 'failed' || state.status === 'cancelled' ? 'retry' : null);

function toggleSelected(id, on) {
  if (on) state.selected.add(id);
  else state.selected.delete(id);
  renderBulk();
}

function renderBulk() {
  const action = bulkAction();
  const n = state.selected.size;
  const verb = action === 'cancel' ? 'Cancel' : 'Retry';
  $('bulk').classList.toggle('invisible', !action);
  $('bulk-selected').disabled = !action || n === 0;
  $('bulk-selected').textContent = `${verb} ${n} selected`;
  $('bulk-filter').textContent = `${verb} all ${action === 'cancel' ? 'pending' : state.status}${state.type ? ` ${state.type}` : ''} jobs${state.group ? ` in group ${state.group}` : ''}`;
}

/** Opens the confirmation dialog; resolves true if the operator confirmed. */
function confirmDialog(title, text) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  $('confirm-no').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

async function runBulk(action, ids, what) {
  const msg = $('action-message');
  const verb = action === 'cancel' ? 'Cancel' : 'Retry';
  const effect = action === 'cancel' ? 'They will not run.' : 'Each goes back to pending with its attempts reset, and runs again.';
  if (!(await confirmDialog(`${verb} ${plural(ids.length, 'job')}?`, `${verb} ${what}: ${plural(ids.length, 'job')} in queue ${state.queue}. ${effect}`))) {
    msg.textContent = 'Nothing was changed.';
    return;
  }
  try {
    const out = await post('/jobs/bulk', { action, ids });
    msg.className = 'message';
    msg.textContent = `${action === 'cancel' ? 'Cancelled' : 'Retried'} ${plural(out.done, 'job')}.${out.skipped.length ? ` ${plural(out.skipped.length, 'job')} had changed state and ${out.skipped.length === 1 ? 'was' : 'were'} left alone.` : ''}`;
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.message;
  }
  state.selected.clear();
  await refresh();
}

function bulkSelected() {
  const action = bulkAction();
  if (action && state.selected.size) return runBulk(action, [...state.selected], 'the selected jobs');
}

async function bulkFilter() {
  const action = bulkAction();
  if (!action) return;
  return action === 'retry' ? redriveFilter() : cancelFilter();
}

/** The list's type and group as fields of a bulk request by filter. */
const bulkFilterFields = () => ({ ...(state.type ? { type: state.type } : {}), ...(state.group ? { group: state.group } : {}) });

/**
 * Cancel by filter: every pending job of the list's type and group. A dry run counts them (up to 1,000
 * examined) for the confirmation; then the cancel runs step by step (up to 1,000 jobs a request),
 * posting each answer's cursor back until it is complete, with its progress in the message.
 */
async function cancelFilter() {
  const msg = $('action-message');
  const filter = { action: 'cancel', queue: state.queue, ...bulkFilterFields() };
  const which = filterWords();
  try {
    const dry = await post('/jobs/bulk', { ...filter, dryRun: true });
    msg.className = 'message';
    if (!dry.matched) {
      msg.textContent = `No pending jobs${which} in ${state.queue}${dry.complete ? '' : ' among the first 1,000'}.`;
      return;
    }
    const count = `${dry.complete ? '' : 'at least '}${plural(dry.matched, 'job')}`;
    if (!(await confirmDialog(`Cancel ${count}?`, `Cancel every pending job${which}: ${count} in queue ${state.queue}. They will not run.`))) {
      msg.textContent = 'Nothing was changed.';
      return;
    }
    let step = await post('/jobs/bulk', filter);
    while (!step.complete) {
      msg.textContent = `Cancelling: ${plural(step.cancelled, 'job')} cancelled, ${step.examined} examined…`;
      step = await post('/jobs/bulk', { ...filter, cursor: step.cursor });
    }
    msg.textContent = `Cancelled ${plural(step.cancelled, 'job')}.${step.skipped ? ` ${plural(step.skipped, 'job')} had changed state and ${step.skipped === 1 ? 'was' : 'were'} left alone.` : ''}`;
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.message;
  }
  state.selected.clear();
  await refresh();
}

/**
 * Retry by filter: a bulk redrive of every job with the list's status (failed or cancelled), type
 * and group. A dry run counts them for the confirmation; then the redrive runs step by step (up to
 * 1,000 jobs examined a request), posting each answer's cursor back until it is complete.
 */
async function redriveFilter() {
  const msg = $('action-message');
  const filter = { action: 'retry', queue: state.queue, status: state.status, ...bulkFilterFields() };
  const which = filterWords();
  try {
    const dry = await post('/jobs/bulk', { ...filter, dryRun: true });
    if (!dry.matched) {
      msg.className = 'message';
      msg.textContent = `No ${state.status} jobs${which} in ${state.queue}${dry.complete ? '' : ' among the first 1,000'}.`;
      return;
    }
    const count = `${dry.complete ? '' : 'at least '}${plural(dry.matched, 'job')}`;
    if (!(await confirmDialog(`Retry ${count}?`, `Retry every ${state.status} job${which}: ${count} in queue ${state.queue}. Each goes back to pending with its attempts reset, and runs again.`))) {
      msg.className = 'message';
      msg.textContent = 'Nothing was changed.';
      return;
    }
    msg.className = 'message';
    let step = await post('/jobs/bulk', filter);
    while (!step.complete) {
      msg.textContent = `Retrying: ${plural(step.redriven, 'job')} put back, ${step.examined} of ${step.candidates} examined…`;
      step = await post('/jobs/bulk', { ...filter, cursor: step.cursor });
    }
    msg.textContent = `Retried ${plural(step.redriven, 'job')}.${step.skipped ? ` ${plural(step.skipped, 'job')} had changed state and ${step.skipped === 1 ? 'was' : 'were'} left alone.` : ''}`;
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.message;
  }
  state.selected.clear();
  await refresh();
}

async function enqueue(event) {
  event.preventDefault();
  const form = event.target;
  const msg = $('enqueue-message');
  const payloadField = $('f-payload');
  let payload;
  try {
    payload = JSON.parse(payloadField.value || '{}');
    payloadField.removeAttribute('aria-invalid');
  } catch (err) {
    payloadField.setAttribute('aria-invalid', 'true');
    msg.className = 'message error';
    msg.textContent = `Payload is not valid JSON: ${err.message}`;
    payloadField.focus();
    return;
  }
  const body = { type: form.type.value, payload, queue: state.queue };
  for (const name of ['delayMs', 'priority', 'maxAttempts']) if (form[name].value !== '') body[name] = Number(form[name].value);
  if (form.group.value.trim() !== '') body.group = form.group.value.trim();
  try {
    const { id } = await post('/jobs', body);
    msg.className = 'message';
    msg.textContent = `Enqueued ${body.type} job ${id}.`;
    await openJob(id, false);
    refresh();
  } catch (err) {
    msg.className = 'message error';
    msg.textContent = err.body && err.body.field ? `${err.body.field}: ${err.message}` : err.message;
    const input = err.body && form[err.body.field];
    if (input && input.focus) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  }
}

// ---- Refresh ----------------------------------------------------------------------------------

/** Reads everything shown; on the timer, a completed list (a table scan) is left as it is. */
async function refresh(fromTimer = false) {
  const tasks = [api('/queues').then(renderQueues), api(`/activity?queue=${encodeURIComponent(state.queue)}`).then(renderActivity), api(`/limits?queue=${encodeURIComponent(state.queue)}`).then(renderLimits), loadDetail()];
  if (state.status !== 'completed' || !fromTimer) tasks.push(loadList());
  const failed = (await Promise.allSettled(tasks)).find((r) => r.status === 'rejected');
  $('updated-at').textContent = failed ? `Refresh failed: ${failed.reason.message}` : `Updated ${new Date().toLocaleTimeString()}`;
}

let timer;
function schedule() {
  clearTimeout(timer);
  if (state.paused) return;
  timer = setTimeout(async () => {
    if (!document.hidden) await refresh(true);
    schedule();
  }, state.meta.refreshMs);
}

// ---- Start ------------------------------------------------------------------------------------

function setUpEnqueueType(types) {
  if (types.length) {
    for (const t of types) $('f-type').append(new Option(t, t));
    return;
  }
  // A table the server has no handler registry for: any type may be typed in.
  const input = document.createElement('input');
  Object.assign(input, { id: 'f-type', name: 'type', required: true, autocomplete: 'off', spellcheck: false });
  input.setAttribute('list', 'known-types');
  $('f-type').replaceWith(input);
}

function wire() {
  for (const b of document.querySelectorAll('.status')) b.addEventListener('click', () => chooseStatus(b.dataset.status));
  $('rescan').addEventListener('click', () => api('/queues?discover=1').then(renderQueues));
  $('filters').addEventListener('submit', search);
  $('type-filter').addEventListener('change', (e) => chooseType(e.target.value));
  $('group-filter').addEventListener('change', (e) => chooseGroup(e.target.value));
  $('next-page').addEventListener('click', () => goPage(1));
  $('prev-page').addEventListener('click', () => goPage(-1));
  $('first-page').addEventListener('click', () => goPage(0));
  $('reload-list').addEventListener('click', () => loadList());
  $('select-page').addEventListener('change', (e) => {
    for (const j of state.page_ ? state.page_.jobs : []) toggleSelected(j.id, e.target.checked);
    for (const box of $('job-rows').querySelectorAll('input[type=checkbox]')) box.checked = e.target.checked;
  });
  $('job-rows').addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr');
    if (!tr || e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
      next?.querySelector('button').focus();
      e.preventDefault();
    }
  });
  $('bulk-selected').addEventListener('click', bulkSelected);
  $('bulk-filter').addEventListener('click', bulkFilter);
  $('cancel-job').addEventListener('click', () => act('cancel'));
  $('retry-job').addEventListener('click', () => act('retry'));
  $('enqueue-form').addEventListener('submit', enqueue);
  $('enqueue-form').addEventListener('input', (e) => e.target.removeAttribute('aria-invalid'));
  $('pause').addEventListener('click', (e) => {
    state.paused = !state.paused;
    e.target.setAttribute('aria-pressed', String(state.paused));
    e.target.textContent = state.paused ? 'Resume refresh' : 'Pause refresh';
    if (!state.paused) refresh();
    schedule();
  });
  window.addEventListener('popstate', () => {
    readUrl();
    showView();
    refresh();
  });
}

async function init() {
  const meta = await api('/meta');
  state.meta = meta;
  $('table-name').textContent = meta.tableName;
  $('read-only').hidden = !meta.readOnly;
  document.body.classList.toggle('read-only', meta.readOnly);
  state.queue = meta.queues[0] || 'default';
  readUrl();
  setUpEnqueueType(meta.jobTypes);
  wire();
  writeUrl(false);
  showView();
  await refresh();
  schedule();
}

document.addEventListener('DOMContentLoaded', () => {
  init().catch((err) => {
    $('updated-at').textContent = `Could not load: ${err.message}`;
  });
});
