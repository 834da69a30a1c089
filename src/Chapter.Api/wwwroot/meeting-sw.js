// Lets a leader open the meeting's page again without a connection: its page and scripts are served from the network
// when it answers and from the last copy when it does not. The API is never cached here (its answers may hold personal
// data and must be current); the page keeps its own last copy of the meeting on the phone.
'use strict';
const CACHE = 'chapter-meeting-v1';
const ASSETS = ['/app.css', '/session.js', '/meeting.js', '/meetings.js'];
const MEETING_PAGE = /^\/chapters\/[^/]+\/meetings(\/[0-9a-f-]{36})?$/;

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(key => key !== CACHE).map(key => caches.delete(key))))
    .then(() => self.clients.claim()));
});

// A meeting page asks to be kept when it registers the worker: it was loaded before the worker could see it. It also asks to
// be taken in charge: a page whose navigation began while the worker was activating is not claimed by the claim on activation.
self.addEventListener('message', event => {
  const path = event.data && event.data.keep;
  if (typeof path === 'string' && MEETING_PAGE.test(path))
    event.waitUntil(Promise.all([caches.open(CACHE).then(cache => cache.add(path)).catch(() => {}), self.clients.claim()]));
});

self.addEventListener('fetch', event => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (!ASSETS.includes(url.pathname) && !MEETING_PAGE.test(url.pathname)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const answer = await fetch(event.request);
      if (answer.ok) await cache.put(url.pathname, answer.clone());
      return answer;
    } catch (offline) {
      const kept = await cache.match(url.pathname);
      if (kept) return kept;
      throw offline;
    }
  })());
});
