// The chapter's meetings: open the day's meeting (one per day, in the chapter's own time zone), or go back to one.
'use strict';
(async () => {
  const session = window.chapterSession;
  if (!session.token()) { location.replace('/signin'); return; }
  const page = document.getElementById('meetings-page');
  const texts = page.dataset;
  const chapter = encodeURIComponent(texts.chapter);
  const status = document.getElementById('meetings-status');
  const say = (message, kind = '') => { status.textContent = message; status.className = kind; };
  const api = (path, options) => session.api(`/api/chapters/${chapter}${path}`, options);
  const open = id => location.assign(`/chapters/${chapter}/meetings/${id}`);
  // The page that registers the worker was loaded before it ran: the worker is asked to keep this page too, so it opens
  // without a connection from the first visit on.
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/meeting-sw.js', { scope: '/chapters/' })
    .then(() => navigator.serviceWorker.ready).then(worker => worker.active?.postMessage({ keep: location.pathname })).catch(() => {});

  const form = document.getElementById('open-meeting');
  const dateError = document.getElementById('error-date');
  form.addEventListener('submit', async event => {
    event.preventDefault();
    dateError.hidden = true;
    const date = form.elements.date.value;
    let response;
    try {
      response = await api('/meetings', { method: 'POST', body: JSON.stringify({ date: date || null }) });
    } catch {
      say(texts.offline, 'error');
      return;
    }
    if (response.status === 401) { session.signInAgain(); return; }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) { open(answer.id); return; }
    if (response.status === 409) {
      // That day's meeting is already open: go to it.
      const day = await (await api(`/meetings?from=${date}&to=${date}`)).json();
      if (day.items?.length) { open(day.items[0].id); return; }
    }
    if (answer.errors?.date) { dateError.textContent = answer.errors.date.join(' '); dateError.hidden = false; form.elements.date.focus(); return; }
    say(answer.detail ?? response.statusText, 'error');
  });

  const me = await (await session.api('/api/me')).json().catch(() => null);
  if (me?.role !== 'leader') { form.hidden = true; say(texts.leadersOnly, 'error'); return; }
  const [chapterAnswer, listAnswer] = await Promise.all([api(''), api('/meetings')]);
  const { timeZone } = await chapterAnswer.json();
  // Today where the chapter meets, not where the phone happens to be.
  form.elements.date.value = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const spelled = document.getElementById('meeting-date-spelled');
  const spell = () => {
    const value = form.elements.date.value;
    spelled.textContent = value
      ? new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: 'full', timeZone: 'UTC' }).format(new Date(`${value}T12:00:00Z`))
      : '';
  };
  form.elements.date.addEventListener('input', spell);
  spell();
  const meetings = (await listAnswer.json()).items;
  document.getElementById('meetings').replaceChildren(...meetings.slice(0, 12).map(meeting => {
    const item = document.createElement('li');
    item.className = 'card';
    const link = document.createElement('a');
    link.href = `/chapters/${chapter}/meetings/${meeting.id}`;
    link.textContent = session.day(meeting.date);
    const state = document.createElement('p');
    state.className = 'state';
    state.textContent = meeting.status === 'closed' ? texts.closed : texts.open;
    item.append(link, state);
    return item;
  }));
  document.getElementById('no-meetings').hidden = meetings.length > 0;
  page.dataset.ready = 'true';
})();
