// The sign-in link carries a token, or a one-time code from an e-mail, after '#', which never reaches a server; keep it, then
// drop it from the address bar. Without one, a member who lost their link asks for a new one with their address.
'use strict';
(async () => {
  const status = document.getElementById('signin-status');
  const ask = document.getElementById('signin-ask');
  const fragment = new URLSearchParams(location.hash.slice(1));
  let token = fragment.get('token');
  const code = fragment.get('code');
  history.replaceState(null, '', location.pathname);

  ask.addEventListener('submit', async event => {
    event.preventDefault();
    const answer = await fetch('/api/signin/email', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: ask.elements.email.value.trim() }),
    }).catch(() => null);
    const problem = answer && !answer.ok ? await answer.json().catch(() => ({})) : null;
    const note = document.getElementById('signin-ask-status');
    note.textContent = answer?.ok ? ask.dataset.sent : Object.values(problem?.errors ?? {}).flat().join(' ') || problem?.detail || ask.dataset.offline;
    note.className = answer?.ok ? 'ok' : 'error';
  });

  if (code) {
    const exchanged = await fetch('/api/signin/exchange', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }),
    }).catch(() => null);
    if (exchanged?.ok) token = (await exchanged.json()).token;
    else { status.textContent = status.dataset.codeFailed; ask.hidden = false; return; }
  }
  if (!token) {
    if (localStorage.getItem('chapter.token')) { status.textContent = status.dataset.working; location.replace('/give'); return; }
    status.textContent = status.dataset.missing;
    ask.hidden = false;
    return;
  }
  try {
    const me = await fetch('/api/me', { headers: { Authorization: `Bearer ${token}` } });
    if (!me.ok) throw new Error(String(me.status));
    const who = await me.json();
    localStorage.setItem('chapter.token', token);
    localStorage.setItem('chapter.me', JSON.stringify({ chapterId: who.chapterId, role: who.role }));
    location.replace(who.role === 'leader' ? `/chapters/${encodeURIComponent(who.chapterId)}/reports/weekly` : '/give');
  } catch {
    status.textContent = status.dataset.failed;
    ask.hidden = false;
  }
})();
