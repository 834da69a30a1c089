// The sign-in link carries the token after '#', which never reaches a server; keep it, then drop it from the address bar.
'use strict';
(async () => {
  const status = document.getElementById('signin-status');
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', location.pathname);
  if (!token) {
    status.textContent = localStorage.getItem('chapter.token') ? status.dataset.working : status.dataset.missing;
    if (localStorage.getItem('chapter.token')) location.replace('/give');
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
  }
})();
