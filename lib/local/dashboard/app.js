// jobtable dashboard: plain JavaScript over the local JSON API. No framework, no build step.
'use strict';

const REFRESH_MS = 1500;
const STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'];
const PAGE_SIZE = 20;

const state = { status: 'pending', queue: 'default', cursors: [undefined], page: 0, nextCursor: undefined, selected: null, paused: false, lastSummary: '' };
const $ = (id) => document.getElementById(id);

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

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
function fmtAge(ms) {
  if (ms === null || ms === undefined) return 'none due';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${Math.round(ms / 60000)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}
const json = (v) => (v === null || v === undefined ? '–' : JSON.stringify(v, null, 2));

function renderStats(stats) {
  for (const s of STATUSES) $(`count-${s}`).textContent = String(stats.counts[s]);
  $('oldest-due').textContent = `Oldest due job waiting: ${fmtAge(stats.oldestDueAgeMs)}`;
  const summary = STATUSES.map((s) => `${stats.counts[s]} ${s}`).join(', ');
  if (summary !== state.lastSummary) {
    // Announced to screen readers only when the counts change, not on every poll.
    $('live-status').textContent = `Counts: ${summary}`;
    state.lastSummary = summary;
  }
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function renderList(page) {
  const rows = $('job-rows');
  rows.replaceChildren();
  for (const job of page.jobs) {
    const tr = document.createElement('tr');
    if (job.id === state.selected) tr.setAttribute('aria-current', 'true');
    const idCell = document.createElement('td');
    const link = document.createElement('button');
    link.type = 'button';
    link.className = 'link';
    link.textContent = `${job.id.slice(0, 8)}…`;
    link.setAttribute('aria-label', `Show job ${job.id} (${job.type})`);
    link.dataset.jobId = job.id;
    link.addEventListener('click', () => select(job.id, true));
    idCell.append(link);
    const statusCell = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = `badge ${job.status}`;
    badge.textContent = job.status;
    statusCell.append(badge);
    tr.append(idCell, cell(job.type), statusCell, cell(String(job.priority)), cell(`${job.attempts}/${job.maxAttempts}`), cell(fmtTime(job.runAt)));
    rows.append(tr);
  }
  $('empty').hidden = page.jobs.length > 0;
  state.nextCursor = page.cursor;
  $('next-page').disabled = !page.cursor;
  $('prev-page').disabled = state.page === 0;
  $('first-page').disabled = state.page === 0;
  $('page-label').textContent = `Page ${state.page + 1}`;
}

function renderDetail(job) {
  $('detail-empty').hidden = !!job;
  $('detail-body').hidden = !job;
  if (!job) return;
  $('d-id').textContent = job.id;
  $('d-type').textContent = job.type;
  $('d-queue').textContent = job.queue;
  const badge = $('d-status');
  badge.textContent = job.status;
  badge.className = `badge ${job.status}`;
  $('d-priority').textContent = String(job.priority);
  $('d-attempts').textContent = `${job.attempts} of ${job.maxAttempts}`;
  const p = job.progress;
  const bar = $('d-progress');
  if (p && p.total) {
    bar.max = p.total;
    bar.value = p.current;
  } else {
    bar.max = 1;
    bar.value = job.status === 'completed' ? 1 : 0;
  }
  $('d-progress-text').textContent = p ? `${p.current}${p.total ? ` / ${p.total}` : ''}${p.message ? ` – ${p.message}` : ''}` : job.status === 'completed' ? 'done' : '–';
  $('d-created').textContent = fmtTime(job.createdAt);
  $('d-run-at').textContent = fmtTime(job.runAt);
  $('d-started').textContent = fmtTime(job.startedAt);
  $('d-finished').textContent = fmtTime(job.finishedAt);
  $('d-lease').textContent = fmtTime(job.leaseUntil);
  $('d-expires').textContent = fmtTime(job.expiresAt);
  $('d-error').textContent = job.error || '–';
  $('d-payload').textContent = json(job.payload);
  $('d-result').textContent = json(job.result);
  $('cancel-job').disabled = job.status !== 'pending';
  $('retry-job').disabled = job.status !== 'failed' && job.status !== 'cancelled';
}

async function loadDetail() {
  if (!state.selected) return renderDetail(null);
  try {
    renderDetail(await api(`/jobs/${encodeURIComponent(state.selected)}`));
  } catch (err) {
    if (err.status === 404) {
      state.selected = null;
      renderDetail(null);
      $('action-message').textContent = 'That job no longer exists.';
    } else throw err;
  }
}

async function refresh() {
  const q = encodeURIComponent(state.queue);
  const cursor = state.cursors[state.page];
  const listPath = `/jobs?status=${state.status}&queue=${q}&limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  try {
    const [stats, page] = await Promise.all([api(`/stats?queue=${q}`), api(listPath), loadDetail()]);
    renderStats(stats);
    renderList(page);
    $('updated-at').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $('updated-at').textContent = `Refresh failed: ${err.message}`;
    $('live-status').textContent = `Refresh failed: ${err.message}`;
  }
}

let timer;
function schedule() {
  clearTimeout(timer);
  if (!state.paused) timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, REFRESH_MS);
}

function select(id, focus) {
  if (id !== state.selected) $('action-message').textContent = '';
  state.selected = id;
  loadDetail().then(() => {
    for (const tr of $('job-rows').children) tr.toggleAttribute('aria-current', tr.querySelector('[data-job-id]')?.dataset.jobId === id);
    if (focus) $('detail-heading').focus();
  });
}

function showStatus(status) {
  state.status = status;
  state.cursors = [undefined];
  state.page = 0;
  $('list-status').textContent = status;
  for (const b of document.querySelectorAll('.count')) b.setAttribute('aria-pressed', String(b.dataset.status === status));
  refresh();
}

async function act(action) {
  const id = state.selected;
  if (!id) return;
  const msg = $('action-message');
  try {
    const out = await api(`/jobs/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: '{}' });
    msg.className = '';
    msg.textContent = action === 'cancel' ? `Cancelled job ${id}.` : `Retried job ${id}: it is ${out.job ? out.job.status : 'pending'} again.`;
  } catch (err) {
    msg.className = 'error';
    msg.textContent = err.message;
  }
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
    msg.className = 'error';
    msg.textContent = `Payload is not valid JSON: ${err.message}`;
    payloadField.focus();
    return;
  }
  const body = { type: form.type.value, payload, queue: state.queue };
  for (const name of ['delayMs', 'priority', 'maxAttempts']) {
    if (form[name].value !== '') body[name] = Number(form[name].value);
  }
  try {
    const { id } = await api('/jobs', { method: 'POST', body: JSON.stringify(body) });
    msg.className = '';
    msg.textContent = `Enqueued ${body.type} job ${id}.`;
    select(id, false);
    refresh();
  } catch (err) {
    msg.className = 'error';
    msg.textContent = err.body && err.body.field ? `${err.body.field}: ${err.message}` : err.message;
    const input = err.body && form[err.body.field];
    if (input && input.focus) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  }
}

async function init() {
  const meta = await api('/meta');
  $('table-name').textContent = meta.tableName;
  for (const t of meta.jobTypes) $('f-type').append(new Option(t, t));
  for (const q of meta.queues) $('queue-select').append(new Option(q, q));
  state.queue = meta.queues[0] || 'default';
  $('queue-select').addEventListener('change', (e) => {
    state.queue = e.target.value;
    showStatus(state.status);
  });
  for (const b of document.querySelectorAll('.count')) b.addEventListener('click', () => showStatus(b.dataset.status));
  $('next-page').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page++;
    refresh();
  });
  $('prev-page').addEventListener('click', () => {
    if (state.page > 0) state.page--;
    refresh();
  });
  $('first-page').addEventListener('click', () => {
    state.page = 0;
    refresh();
  });
  $('cancel-job').addEventListener('click', () => act('cancel'));
  $('retry-job').addEventListener('click', () => act('retry'));
  $('enqueue-form').addEventListener('submit', enqueue);
  for (const el of $('enqueue-form').elements) el.addEventListener('input', () => el.removeAttribute('aria-invalid'));
  $('pause').addEventListener('click', (e) => {
    state.paused = !state.paused;
    e.target.setAttribute('aria-pressed', String(state.paused));
    e.target.textContent = state.paused ? 'Resume refresh' : 'Pause refresh';
    if (!state.paused) refresh();
    schedule();
  });
  await refresh();
  schedule();
}

document.addEventListener('DOMContentLoaded', () => {
  init().catch((err) => {
    $('updated-at').textContent = `Could not load: ${err.message}`;
  });
});
