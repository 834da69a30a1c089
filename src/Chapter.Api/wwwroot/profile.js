// A member's profile: what they are looking for (their ask), their ideal referral, and what they bring to the chapter.
'use strict';
(() => {
  const { token, api, signInAgain } = window.chapterSession;
  if (!token()) { location.replace('/signin'); return; }
  const form = document.getElementById('profile');
  const status = document.getElementById('profile-status');
  const fields = ['ask', 'idealReferral', 'goals', 'accomplishments', 'interests', 'networks', 'skills'];
  let path, saved = {};
  const valueOf = f => form.elements[f].value.trim() || null;

  // Only the fields changed here are sent (a JSON merge patch), so a leader or another tab changing another field loses nothing.
  form.addEventListener('submit', async event => {
    event.preventDefault();
    for (const error of form.querySelectorAll('.field-error')) error.hidden = true;
    const body = Object.fromEntries(fields.filter(f => valueOf(f) !== (saved[f] ?? null)).map(f => [f, valueOf(f)]));
    const response = await api(path, { method: 'PATCH', body: JSON.stringify(body), headers: { 'Content-Type': 'application/merge-patch+json' } });
    if (response.ok) {
      saved = await response.json();
      status.textContent = form.dataset.saved;
      status.className = 'ok';
      return;
    }
    const problem = await response.json().catch(() => ({}));
    for (const [name, messages] of Object.entries(problem.errors ?? {})) {
      const error = document.getElementById(`error-${name}`);
      if (error) { error.textContent = messages.join(' '); error.hidden = false; }
    }
    status.textContent = problem.detail ?? response.statusText;
    status.className = 'error';
  });

  (async () => {
    const answer = await api('/api/me');
    if (answer.status === 401) { signInAgain(); return; }
    const me = await answer.json();
    path = `/api/chapters/${me.chapterId}/members/${me.memberId}/profile`;
    saved = await (await api(path)).json();
    for (const f of fields) form.elements[f].value = saved[f] ?? '';
    form.dataset.ready = 'true';
  })();
})();
