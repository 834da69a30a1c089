// The member's token lives in this browser only; signing out forgets it and anything unsent.
'use strict';
const TOKEN_KEY = 'chapter.token';

// What every signed-in page shares: the token, calls to the API with it, and the way back to sign in.
window.chapterSession = {
  token: () => localStorage.getItem(TOKEN_KEY),
  api: (path, options = {}) => fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}`, 'Content-Type': 'application/json', ...(options.headers ?? {}) },
  }),
  // A meeting's day (YYYY-MM-DD, the chapter's own date) as the page's language writes it.
  day: date => new Date(`${date}T12:00:00`).toLocaleDateString(document.documentElement.lang,
    { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }),
  signInAgain: () => { localStorage.removeItem(TOKEN_KEY); location.replace('/signin'); },
  // Every item of a paged list, following 'next' to the last page; status is the first answer that was not 200.
  list: async (path) => {
    const items = [];
    let after = null;
    do {
      const query = `${path.includes('?') ? '&' : '?'}limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const response = await window.chapterSession.api(path + query);
      if (!response.ok) return { status: response.status, items };
      const page = await response.json();
      items.push(...page.items);
      after = page.next;
    } while (after);
    return { status: 200, items };
  },
};

document.addEventListener('DOMContentLoaded', () => {
  const signOut = document.getElementById('sign-out');
  if (!signOut) return;
  signOut.hidden = !localStorage.getItem(TOKEN_KEY);
  // Leaders also get their chapter's report and members (the server checks; this only shows the way).
  const me = JSON.parse(localStorage.getItem('chapter.me') ?? 'null');
  if (me?.role === 'leader')
    for (const link of document.querySelectorAll('[data-leader-link]')) {
      link.href = `/chapters/${encodeURIComponent(me.chapterId)}/${link.dataset.leaderLink}`;
      link.hidden = false;
    }
  signOut.addEventListener('click', () => {
    // Everything this site kept on the phone: the token, unsent referrals and meetings, and the pages kept for offline use.
    for (const key of Object.keys(localStorage)) if (key.startsWith('chapter.')) localStorage.removeItem(key);
    const forgotten = window.caches ? caches.keys().then(keys => Promise.all(keys.map(key => caches.delete(key)))) : Promise.resolve();
    forgotten.catch(() => {}).finally(() => location.assign('/signin'));
  });
});
