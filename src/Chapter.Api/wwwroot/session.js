// The member's token lives in this browser only; signing out forgets it and any unsent referral.
'use strict';
const TOKEN_KEY = 'chapter.token';
const PENDING_KEY = 'chapter.pendingReferral';

document.addEventListener('DOMContentLoaded', () => {
  const signOut = document.getElementById('sign-out');
  if (!signOut) return;
  signOut.hidden = !localStorage.getItem(TOKEN_KEY);
  signOut.addEventListener('click', () => {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(PENDING_KEY);
    location.assign('/signin');
  });
});
