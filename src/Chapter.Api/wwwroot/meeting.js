// A leader records the meeting from a phone, often where the connection comes and goes. Every tap is kept on the phone
// (localStorage) before anything is sent, shown at once, and sent in the order it was made when the server answers.
// The server makes each step safe to send twice: the same mark again changes nothing, a visitor carries an id made here,
// and closing a closed meeting changes nothing. So a change whose answer was lost is simply sent again.
'use strict';
(() => {
  const session = window.chapterSession;
  if (!session.token()) { location.replace('/signin'); return; }
  const page = document.getElementById('meeting-page');
  const texts = page.dataset;
  const chapter = encodeURIComponent(texts.chapter);
  const meetingId = texts.meeting;
  const viewKey = `chapter.meeting.${meetingId}`;
  const visitorsKey = `chapter.meeting.${meetingId}.visitors`;
  const pendingKey = `chapter.meeting.${meetingId}.pending`;
  const statusLine = document.getElementById('meeting-status');
  const fill = (text, ...values) => values.reduce((t, v, i) => t.replaceAll(`{${i}}`, v), text);
  const stored = (key, fallback) => JSON.parse(localStorage.getItem(key) ?? 'null') ?? fallback;
  // Never written back after signing out, by an answer that arrived on the way out.
  const store = (key, value) => { if (session.token()) localStorage.setItem(key, JSON.stringify(value)); };
  const api = (path, options) => session.api(`/api/chapters/${chapter}${path}`, options);

  let view = stored(viewKey, null);
  let visitors = stored(visitorsKey, []);
  let pending = stored(pendingKey, []);
  let problem = '';

  // A later mark of the same member replaces one not sent yet: only the last tap matters.
  function enqueue(change) {
    if (change.kind === 'mark') pending = pending.filter(p => !(p.kind === 'mark' && p.memberId === change.memberId));
    if (change.kind === 'follow-up') pending = pending.filter(p => !(p.kind === 'follow-up' && p.visitorId === change.visitorId));
    pending.push(change);
    store(pendingKey, pending);
    render();
    sync();
  }

  const pendingMark = memberId => pending.find(p => p.kind === 'mark' && p.memberId === memberId);
  const closing = () => view?.status === 'closed' || pending.some(p => p.kind === 'close');

  function say() {
    if (problem) { statusLine.textContent = problem; statusLine.className = 'error'; return; }
    statusLine.textContent = pending.length ? fill(texts.waiting, pending.length) : view ? texts.allSaved : '';
    statusLine.className = pending.length ? 'busy' : 'ok';
  }

  function render() {
    say();
    if (!view) return;
    const closed = closing();
    document.getElementById('meeting-title').textContent = fill(texts.title, session.day(view.date));
    document.getElementById('meeting-state').textContent = closed ? texts.closed : texts.open;

    const counts = { present: 0, absent: 0, late: 0, medical: 0, substitute: 0, unmarked: 0 };
    const rows = view.attendance.map(attendee => {
      const mark = pendingMark(attendee.memberId);
      const status = mark?.status ?? attendee.status;
      counts[status ?? 'unmarked']++;
      return row(attendee, status, mark, closed);
    });
    document.getElementById('attendance').replaceChildren(...rows);
    for (const [status, count] of Object.entries(counts)) page.querySelector(`[data-count="${status}"]`).textContent = count;

    const names = new Map(view.attendance.map(a => [a.memberId, a.name]));
    const shown = [...visitors, ...pending.filter(p => p.kind === 'visitor').map(p => ({ ...p.body, waiting: true }))];
    document.getElementById('visitors').replaceChildren(...shown.map(visitor => {
      const item = document.createElement('li');
      item.className = 'card';
      const who = document.createElement('p');
      who.className = 'who';
      who.textContent = visitor.erased ? texts.erased : `${visitor.name} · ${visitor.profession}`;
      const line = document.createElement('p');
      line.className = 'state';
      line.textContent = fill(texts.invitedBy, names.get(visitor.invitedBy) ?? '') + (visitor.waiting ? ` · ${texts.notSent}` : '');
      item.append(who, line);
      if (!visitor.waiting) item.append(...followUp(visitor));
      return item;
    }));
    document.getElementById('no-visitors').hidden = shown.length > 0;

    const invitedBy = document.getElementById('visitor-invitedBy');
    if (invitedBy.options.length === 0) {
      const me = stored('chapter.me', {});
      for (const a of view.attendance) invitedBy.add(new Option(a.name, a.memberId, false, a.memberId === me.memberId));
    }
    document.getElementById('add-visitor-box').hidden = closed;
    document.getElementById('close-box').hidden = closed;
    page.dataset.ready = 'true';
  }

  // The visitor's last follow-up step (one not sent yet counts), and a tap for each next one.
  function followUp(visitor) {
    const waiting = pending.filter(p => p.kind === 'follow-up' && p.visitorId === visitor.id).at(-1);
    const last = waiting?.step ?? visitor.followUp?.at(-1)?.step;
    const stepName = step => texts[`step${step[0].toUpperCase()}${step.slice(1)}`] ?? step;
    const state = document.createElement('p');
    state.className = 'state follow-up-state';
    state.textContent = (last ? fill(texts.lastStep, stepName(last)) : texts.noStep) + (waiting ? ` · ${texts.notSent}` : '');
    const buttons = document.getElementById('visitor-follow-up').content.firstElementChild.cloneNode(true);
    buttons.setAttribute('aria-label', visitor.erased ? texts.erased : visitor.name);
    for (const button of buttons.querySelectorAll('[data-step]')) {
      button.setAttribute('aria-pressed', String(button.dataset.step === last));
      button.addEventListener('click', () => enqueue({ kind: 'follow-up', visitorId: visitor.id, step: button.dataset.step }));
    }
    return [state, buttons];
  }

  function row(attendee, status, mark, closed) {
    const item = document.getElementById('attendance-row').content.firstElementChild.cloneNode(true);
    item.dataset.member = attendee.memberId;
    item.querySelector('.name').textContent = attendee.name;
    item.querySelector('.pending-mark').hidden = !mark;
    item.querySelector('.palms').setAttribute('aria-label', attendee.name);
    for (const button of item.querySelectorAll('[data-status]')) {
      button.setAttribute('aria-pressed', String(button.dataset.status === status));
      button.disabled = closed;
      button.addEventListener('click', () => {
        if (button.dataset.status === 'substitute') { openSubstitute(item); return; }
        enqueue({ kind: 'mark', memberId: attendee.memberId, status: button.dataset.status });
      });
    }
    const substitute = mark?.substitute ?? attendee.substitute;
    const line = item.querySelector('.substitute-line');
    if (status === 'substitute' && substitute) {
      line.textContent = [substitute.name, substitute.profession].filter(Boolean).join(' · ');
      line.hidden = false;
    }
    const form = item.querySelector('form.substitute');
    form.addEventListener('submit', event => {
      event.preventDefault();
      const name = form.elements.name.value.trim();
      const error = form.querySelector('.field-error');
      if (!name) { error.textContent = error.dataset.message; error.hidden = false; form.elements.name.focus(); return; }
      const profession = form.elements.profession.value.trim() || null;
      enqueue({ kind: 'mark', memberId: attendee.memberId, status: 'substitute', substitute: { name, profession } });
    });
    return item;
  }

  function openSubstitute(item) {
    const form = item.querySelector('form.substitute');
    form.hidden = false;
    form.elements.name.focus();
  }

  // One change at a time, in order; a change that cannot reach the server waits for the next try.
  let syncing = false;
  async function sync() {
    if (syncing) return;
    syncing = true;
    try {
      while (pending.length) {
        const change = pending[0];
        let response;
        try {
          response = await send(change);
        } catch {
          problem = '';
          return;   // no connection: keep everything, try again later
        }
        if (response.status === 401) { session.signInAgain(); return; }
        if (response.status >= 500 || response.status === 429 || response.status === 408) return;
        const answer = await response.json().catch(() => null);
        pending = pending.filter(p => p !== change);   // by identity: a later tap may have replaced it meanwhile
        store(pendingKey, pending);
        problem = '';
        if (response.ok) {
          if (change.kind === 'visitor' || change.kind === 'follow-up') {
            visitors = [...visitors.filter(v => v.id !== answer.id), answer];
            store(visitorsKey, visitors);
          } else {
            view = answer;
            store(viewKey, view);
          }
        } else if (response.status === 409 && (change.kind === 'mark' || change.kind === 'close')) {
          // Another leader closed the meeting: nothing more can be recorded, so nothing waiting can be sent.
          // (A visitor's 409 is about that visitor alone, e.g. erased under the same id: refused below like any other.)
          pending = [];
          store(pendingKey, pending);
          problem = texts.closedElsewhere;
          await refresh();
        } else {
          const who = change.memberId ? view?.attendance.find(a => a.memberId === change.memberId)?.name
            : change.visitorId ? visitors.find(v => v.id === change.visitorId)?.name : change.body?.name;
          const reason = Object.values(answer?.errors ?? {}).flat().join(' ') || answer?.detail || response.statusText;
          problem = fill(texts.refused, who ?? '', reason);
        }
        render();
      }
    } finally {
      syncing = false;
      render();
    }
  }

  function send(change) {
    switch (change.kind) {
      case 'mark':
        return api(`/meetings/${meetingId}/attendance/${change.memberId}`,
          { method: 'PUT', body: JSON.stringify({ status: change.status, substitute: change.substitute ?? null }) });
      case 'visitor':
        return api('/visitors', { method: 'POST', body: JSON.stringify(change.body) });
      case 'close':
        return api(`/meetings/${meetingId}/close`, { method: 'POST' });
      case 'follow-up':
        return api(`/visitors/${change.visitorId}/follow-up`, { method: 'POST', body: JSON.stringify({ step: change.step }) });
    }
  }

  const form = document.getElementById('add-visitor');
  form.addEventListener('submit', event => {
    event.preventDefault();
    for (const error of form.querySelectorAll('.field-error')) { error.hidden = true; error.textContent = ''; }
    const value = name => form.elements[name].value.trim() || null;
    const body = {
      id: crypto.randomUUID(), name: value('name'), profession: value('profession'), company: value('company'),
      email: value('email'), phone: value('phone'), invitedBy: value('invitedBy'), meetingId, consent: form.elements.consent.checked,
    };
    const missing = ['name', 'profession'].filter(name => !body[name]);
    for (const name of missing) {
      const error = document.getElementById(`error-visitor-${name}`);
      error.textContent = form.elements[name].validationMessage;
      error.hidden = false;
    }
    // Contact details only with the visitor's permission: checked before anything leaves the phone.
    if ((body.email || body.phone) && !body.consent) {
      const error = document.getElementById('error-visitor-consent');
      error.textContent = error.dataset.message;
      error.hidden = false;
    }
    const invalid = form.querySelector('.field-error:not([hidden])');
    if (invalid) { form.querySelector(`[name="${invalid.dataset.field}"]`)?.focus(); return; }
    form.reset();
    enqueue({ kind: 'visitor', body });
  });

  document.getElementById('close-meeting').addEventListener('click', () => {
    document.getElementById('close-box').open = false;
    enqueue({ kind: 'close' });
  });

  async function refresh() {
    let meeting, listed;
    try {
      [meeting, listed] = await Promise.all([api(`/meetings/${meetingId}`), api(`/visitors?meetingId=${meetingId}`)]);
    } catch {
      if (!view) { problem = texts.unknown; }
      return;
    }
    if (meeting.status === 401) { session.signInAgain(); return; }
    if (meeting.status === 403 || listed.status === 403) { problem = texts.leadersOnly; return; }
    if (!meeting.ok) { problem = (await meeting.json().catch(() => ({}))).detail ?? meeting.statusText; return; }
    view = await meeting.json();
    store(viewKey, view);
    if (listed.ok) { visitors = (await listed.json()).items; store(visitorsKey, visitors); }
  }

  window.addEventListener('online', sync);
  setInterval(sync, 10_000);
  // The page that registers the worker was loaded before it ran: the worker is asked to keep this page too, so it opens
  // without a connection from the first visit on.
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/meeting-sw.js', { scope: '/chapters/' })
    .then(() => navigator.serviceWorker.ready).then(worker => worker.active?.postMessage({ keep: location.pathname })).catch(() => {});

  (async () => {
    const me = stored('chapter.me', null);
    if (me && me.role !== 'leader') { problem = texts.leadersOnly; say(); return; }
    render();   // what the phone last knew, at once; then what waits is sent, and the server's record read
    await sync();
    await refresh();
    render();
  })();
})();
