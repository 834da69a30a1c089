// A member's referrals: the ones received, with one-tap next steps, and the ones given, with what became of them.
'use strict';
(() => {
  const { token, api, signInAgain } = window.chapterSession;
  if (!token()) { location.replace('/signin'); return; }
  const root = document.getElementById('my');
  const texts = root.dataset;
  const status = document.getElementById('my-status');
  const date = new Intl.DateTimeFormat(texts.locale, { dateStyle: 'medium' });
  let me, chapter, names = new Map(), active = [];

  const fill = (text, ...values) => values.reduce((t, v, i) => t.replace(`{${i}}`, v), text);
  const when = at => date.format(new Date(at));
  const money = value => new Intl.NumberFormat(texts.locale, { style: 'currency', currency: value.currency }).format(value.amount);
  const nameOf = id => names.get(id) ?? '…';

  function card(referral, received) {
    const item = document.getElementById('card').content.firstElementChild.cloneNode(true);
    item.dataset.referral = referral.id;
    item.querySelector('.who').textContent = received ? fill(texts.from, nameOf(referral.giverId)) : fill(texts.to, nameOf(referral.receiverId));
    item.querySelector('.need').textContent = referral.need;
    if (referral.prospect) {
      const p = referral.prospect;
      item.querySelector('.contact').hidden = false;
      item.querySelector('.prospect').textContent = p.erasedAt ? texts.erased : [p.name, p.email, p.phone].filter(Boolean).join(' · ');
    }
    item.querySelector('.state').textContent = texts[`status${referral.status[0].toUpperCase()}${referral.status.slice(1)}`];
    const steps = item.querySelector('.steps');
    const step = text => { const li = document.createElement('li'); li.textContent = text; steps.append(li); };
    if (referral.acceptedAt) step(fill(texts.acceptedAt, when(referral.acceptedAt)));
    if (referral.declinedAt) step(fill(texts.declinedAt, when(referral.declinedAt), referral.declineReason));
    if (referral.closedAt) step(referral.outcome === 'won'
      ? fill(texts.closedWonAt, when(referral.closedAt), money(referral.value))
      : fill(texts.closedLostAt, when(referral.closedAt)));
    if (referral.thankedAt) step(fill(texts.thankedAt, when(referral.thankedAt), referral.thankNote));
    for (const c of referral.corrections ?? []) step(fill(texts.correctedAt, when(c.correctedAt), c.reason));
    if (referral.withdrawnAt) step(fill(texts.withdrawnAt, when(referral.withdrawnAt), referral.withdrawReason ?? ''));
    if (received) actions(item.querySelector('.actions'), referral);
    else if (referral.status === 'given') giverActions(item, referral);
    return item;
  }

  // A referral not yet accepted can be passed to another member or taken back; when its receiver has left, it is flagged
  // and both choices are open, since nobody else can move it on.
  function giverActions(item, referral) {
    const container = item.querySelector('.actions');
    container.append(document.getElementById('actions-giver').content.cloneNode(true));
    const stranded = !active.some(m => m.id === referral.receiverId);
    if (stranded) {
      item.classList.add('stranded');
      const flag = document.createElement('p');
      flag.className = 'flag';
      flag.textContent = fill(texts.receiverLeft, nameOf(referral.receiverId));
      item.querySelector('.state').after(flag);
      for (const choice of container.querySelectorAll('details')) choice.open = true;
    }
    const select = container.querySelector('select[name=receiverId]');
    select.replaceChildren(...active.filter(m => m.id !== me.memberId && m.id !== referral.receiverId).map(m => {
      const option = document.createElement('option');
      option.value = m.id;
      option.textContent = `${m.name} · ${m.profession}`;
      return option;
    }));
    for (const form of container.querySelectorAll('form')) {
      form.addEventListener('submit', event => {
        event.preventDefault();
        const data = new FormData(form);
        if (form.dataset.act === 'redirect') perform(referral.id, 'redirect', { receiverId: data.get('receiverId') });
        if (form.dataset.act === 'withdraw') perform(referral.id, 'withdraw', { reason: data.get('reason') || null });
      });
    }
  }

  function actions(container, referral) {
    const use = id => container.append(document.getElementById(id).content.cloneNode(true));
    const open = referral.acceptedAt && !referral.declinedAt;
    if (referral.status === 'given') use('actions-given');
    if (open && !referral.closedAt) use('actions-accepted');
    if (open && !referral.thankedAt) {
      use('actions-thank');
      container.querySelector('.prompt').textContent = fill(texts.thankPrompt, nameOf(referral.giverId));
    }
    // A closing or a thank-you note can be set right within 30 days of it, with a reason the giver reads.
    const recent = at => at && Date.now() - new Date(at).getTime() < 30 * 24 * 3600 * 1000;
    if (recent(referral.closedAt) || recent(referral.thankedAt)) {
      use('actions-correct');
      const correct = container.querySelector('form[data-act=correct]');
      correct.querySelector('.closing').hidden = !recent(referral.closedAt);
      correct.querySelector('.note').hidden = !recent(referral.thankedAt);
      if (referral.outcome) correct.elements.outcome.value = referral.outcome;
      if (referral.value) correct.elements.amount.value = referral.value.amount;
      if (referral.thankNote) correct.elements.thankNote.value = referral.thankNote;
    }
    const act = (step, body) => perform(referral.id, step, body);
    container.querySelector('[data-act=accept]')?.addEventListener('click', () => act('accept', {}));
    container.querySelector('[data-act=close-lost]')?.addEventListener('click', () => act('close', { outcome: 'lost' }));
    for (const form of container.querySelectorAll('form')) {
      form.addEventListener('submit', event => {
        event.preventDefault();
        const data = new FormData(form);
        if (form.dataset.act === 'decline') act('decline', { reason: data.get('reason') });
        if (form.dataset.act === 'close-won') act('close', { outcome: 'won', value: { amount: Number(data.get('amount')), currency: chapter.currency } });
        if (form.dataset.act === 'thank') act('thank', { note: data.get('note') });
        if (form.dataset.act === 'correct') {
          // Only what changed is sent: the decider refuses a correction with nothing to correct.
          const body = { reason: data.get('reason') };
          if (!form.querySelector('.closing').hidden) {
            const outcome = data.get('outcome');
            const amount = outcome === 'won' ? Number(data.get('amount')) : null;
            if (outcome !== referral.outcome || (outcome === 'won' && amount !== referral.value?.amount)) {
              body.outcome = outcome;
              if (outcome === 'won') body.value = { amount, currency: referral.value?.currency ?? chapter.currency };
            }
          }
          if (!form.querySelector('.note').hidden && data.get('thankNote') !== referral.thankNote) body.thankNote = data.get('thankNote');
          act('correct', body);
        }
      });
    }
  }

  async function perform(referralId, step, body) {
    status.textContent = texts.working;
    status.className = 'busy';
    let response;
    try {
      response = await api(`/api/chapters/${me.chapterId}/referrals/${referralId}/${step}`, { method: 'POST', body: JSON.stringify(body) });
    } catch {
      status.textContent = document.querySelector('[data-offline]')?.dataset.offline ?? 'Offline';
      status.className = 'error';
      return;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      status.textContent = problem.detail ?? response.statusText;
      status.className = 'error';
      return;
    }
    status.textContent = '';
    await render();
  }

  async function render() {
    const list = await window.chapterSession.list(`/api/chapters/${me.chapterId}/referrals`);
    const received = list.items.filter(r => r.receiverId === me.memberId);
    const given = list.items.filter(r => r.giverId === me.memberId);
    document.getElementById('received').replaceChildren(...received.map(r => card(r, true)));
    document.getElementById('given').replaceChildren(...given.map(r => card(r, false)));
    document.getElementById('none-received').hidden = received.length > 0;
    document.getElementById('none-given').hidden = given.length > 0;
    root.dataset.ready = 'true';
  }

  // Whom to meet next: the suggestions with their reasons, and a tap that records the one-to-one once it happened.
  async function meetNext() {
    const section = document.getElementById('meet-next');
    const words = section.dataset;
    const list = document.getElementById('to-meet');
    const answer = await api(`/api/chapters/${me.chapterId}/members/${me.memberId}/suggestions`);
    if (!answer.ok) { section.hidden = true; return; }
    const suggestions = (await answer.json()).items;
    const reason = r => r.kind === 'noTieYet' ? words.noTie
      : r.kind === 'weakTie' ? words.weakTie
      : r.kind === 'sharedContactSphere' ? fill(words.sphere, r.sphere)
      : fill(words.ask, (r.words ?? []).join(', '));
    list.replaceChildren(...suggestions.map(s => {
      const item = document.getElementById('suggestion').content.firstElementChild.cloneNode(true);
      item.querySelector('.who').textContent = `${s.name} · ${s.profession}`;
      item.querySelector('.reasons').replaceChildren(...s.reasons.map(r => { const li = document.createElement('li'); li.textContent = reason(r); return li; }));
      item.querySelector('[data-act=met]').addEventListener('click', async () => {
        const today = new Date().toLocaleDateString('sv-SE'); // YYYY-MM-DD, the day here
        const saved = await api(`/api/chapters/${me.chapterId}/one-to-ones`,
          { method: 'POST', body: JSON.stringify({ memberA: me.memberId, memberB: s.memberId, date: today }) });
        const problem = saved.ok ? null : await saved.json().catch(() => ({}));
        status.textContent = saved.ok ? words.recorded : (problem.detail ?? saved.statusText);
        status.className = saved.ok ? '' : 'error';
        if (saved.ok) {
          item.remove();
          document.getElementById('none-to-meet').hidden = list.children.length > 0;
          offerUndo((await saved.json()).id, item, words);
        }
      });
      return item;
    }));
    document.getElementById('none-to-meet').hidden = suggestions.length > 0;
  }

  // A "We met" tapped by mistake: for some seconds it can be taken back, and the suggestion comes back.
  const undoSeconds = 10;
  let undoTimer;
  function offerUndo(oneToOneId, item, words) {
    const undo = document.getElementById('undo-met');
    clearTimeout(undoTimer);
    undo.hidden = false;
    undo.onclick = async () => {
      undo.hidden = true;
      clearTimeout(undoTimer);
      const taken = await api(`/api/chapters/${me.chapterId}/one-to-ones/${oneToOneId}`, { method: 'DELETE' });
      const problem = taken.ok ? null : await taken.json().catch(() => ({}));
      status.textContent = taken.ok ? words.undone : (problem.detail ?? taken.statusText);
      status.className = taken.ok ? '' : 'error';
      if (taken.ok) {
        document.getElementById('to-meet').prepend(item);
        document.getElementById('none-to-meet').hidden = true;
      }
    };
    undoTimer = setTimeout(() => { undo.hidden = true; }, undoSeconds * 1000);
  }

  // Which e-mails this member gets: the same settings a leader can change for them.
  async function notifications() {
    const form = document.getElementById('notifications-form');
    const note = document.getElementById('notifications-status');
    const path = `/api/chapters/${me.chapterId}/members/${me.memberId}/notifications`;
    const current = await (await api(path)).json();
    form.email.value = current.email ?? '';
    for (const kind of ['referralReceived', 'referralUpdates', 'weeklyDigest']) form[kind].checked = current[kind];
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const body = { email: form.email.value.trim() || null, referralReceived: form.referralReceived.checked,
        referralUpdates: form.referralUpdates.checked, weeklyDigest: form.weeklyDigest.checked };
      const response = await api(path, { method: 'PUT', body: JSON.stringify(body) });
      const answer = await response.json().catch(() => ({}));
      note.textContent = response.ok ? form.dataset.saved : Object.values(answer.errors ?? {}).flat().join(' ') || answer.detail || response.statusText;
      note.className = response.ok ? '' : 'error';
    });
  }

  (async () => {
    const answer = await api('/api/me');
    if (answer.status === 401) { signInAgain(); return; }
    me = await answer.json();
    chapter = await (await api(`/api/chapters/${me.chapterId}`)).json();
    const members = await window.chapterSession.list(`/api/chapters/${me.chapterId}/members`);
    names = new Map(members.items.map(m => [m.id, m.name]));
    active = members.items.filter(m => m.status === 'active');
    await render();
    await Promise.all([notifications(), meetNext()]);
  })();
})();
