// Giving a referral from a phone on a flaky connection. The referral id is made here, before the first
// attempt, and kept with the form until the server confirms: a retry after a lost answer sends the same id,
// which the server recognises instead of making a duplicate.
'use strict';
(() => {
  const { token, api, signInAgain } = window.chapterSession;
  if (!token()) { location.replace('/signin'); return; }

  const form = document.getElementById('give');
  const texts = form.dataset;
  const status = document.getElementById('give-status');
  const send = document.getElementById('send');
  const receiver = document.getElementById('receiverId');
  const search = document.getElementById('receiver-search');
  const field = name => form.elements.namedItem(name);
  let me = null;
  let members = [];


  function showMembers(filter) {
    const chosen = receiver.value;
    const words = filter.trim().toLocaleLowerCase();
    receiver.length = 1;
    for (const member of members) {
      if (words && !`${member.name} ${member.profession}`.toLocaleLowerCase().includes(words)) continue;
      receiver.add(new Option(`${member.name} · ${member.profession}`, member.id, false, member.id === chosen));
    }
    showAsk();
  }

  // The introduction's language: the receiver's languages first, the first of them proposed until the giver picks one.
  const language = field('language');
  const productLanguages = [...language.options].slice(1).map(o => o.value);
  let languagePicked = false;
  language.addEventListener('change', () => { languagePicked = true; });
  function offerLanguages() {
    const chosen = members.find(m => m.id === receiver.value);
    const current = language.value;
    const speaks = chosen?.languages ?? [];
    const names = new Intl.DisplayNames([document.documentElement.lang || 'en'], { type: 'language' });
    const option = code => new Option(`${names.of(code) ?? code} (${code})`, code);
    const group = (label, codes) => { const g = document.createElement('optgroup'); g.label = label; g.append(...codes.map(option)); return g; };
    const others = productLanguages.filter(code => !speaks.includes(code));
    language.replaceChildren(language.options[0],
      ...(speaks.length > 0 ? [group(language.dataset.receiverSpeaks.replace('{0}', chosen.name), speaks), group(language.dataset.otherLanguages, others)]
        : others.map(option)));
    language.value = languagePicked && [...language.options].some(o => o.value === current) ? current : (speaks[0] ?? current);
  }
  receiver.addEventListener('change', offerLanguages);

  function read() {
    return {
      receiverId: receiver.value || null,
      prospect: {
        name: field('prospect.name').value,
        email: field('prospect.email').value || null,
        phone: field('prospect.phone').value || null,
        consent: field('prospect.consent').checked,
      },
      need: field('need').value,
      temperature: form.querySelector('input[name=temperature]:checked')?.value ?? null,
      language: field('language').value,
    };
  }

  function restore(body) {
    receiver.value = body.receiverId ?? '';
    field('prospect.name').value = body.prospect?.name ?? '';
    field('prospect.email').value = body.prospect?.email ?? '';
    field('prospect.phone').value = body.prospect?.phone ?? '';
    field('prospect.consent').checked = !!body.prospect?.consent;
    field('need').value = body.need ?? '';
    const temperature = form.querySelector(`input[name=temperature][value="${body.temperature}"]`);
    if (temperature) temperature.checked = true;
    offerLanguages();
    if (body.language) { field('language').value = body.language; languagePicked = true; }
  }

  function clearErrors() {
    for (const error of form.querySelectorAll('.field-error')) { error.hidden = true; error.textContent = ''; }
    for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  }

  // The page's own wording, in the page's language, when it has one for the field; else the server's.
  function showError(name, message) {
    const error = document.getElementById(`error-${name}`) ?? document.getElementById('error-receiverId');
    error.textContent = error.dataset.message || message;
    error.hidden = false;
    const input = field(name);
    if (input instanceof Element) input.setAttribute('aria-invalid', 'true');
  }

  function say(message, kind) {
    status.textContent = message;
    status.className = kind;
  }

  form.addEventListener('submit', async event => {
    event.preventDefault();
    clearErrors();
    const body = read();
    // Never passed on without permission: the consent box is checked before anything leaves the phone.
    if (!body.prospect.consent) {
      showError('prospect.consent', '');
      say(texts.errors, 'error');
      field('prospect.consent').focus();
      return;
    }
    const pending = JSON.parse(localStorage.getItem('chapter.pendingReferral') ?? 'null');
    const referralId = pending?.referralId ?? crypto.randomUUID();
    localStorage.setItem('chapter.pendingReferral', JSON.stringify({ referralId, body }));

    send.disabled = true;
    say(texts.sending, 'busy');
    let response;
    try {
      response = await api(`/api/chapters/${me.chapterId}/referrals`, { method: 'POST', body: JSON.stringify({ referralId, ...body }) });
    } catch {
      send.disabled = false;
      say(texts.offline, 'error');
      return;
    }
    send.disabled = false;
    if (response.status === 401) { signInAgain(); return; }
    if (response.ok) {
      localStorage.removeItem('chapter.pendingReferral');
      const to = members.find(m => m.id === body.receiverId);
      form.reset();
      showMembers(search.value = '');
      say(to ? texts.saved.replace('{0}', to.name) : texts.savedPlain, 'ok');
      if (body.prospect.email) offerIntroduction((await response.json()).id, body.prospect.name, to?.name ?? '');
      return;
    }
    const problem = await response.json().catch(() => ({}));
    if (problem.errors) {
      for (const [name, messages] of Object.entries(problem.errors)) showError(name, messages.join(' '));
      say(texts.errors, 'error');
      form.querySelector('[aria-invalid=true]')?.focus();
    } else {
      say(texts.other.replace('{0}', problem.detail ?? response.statusText), 'error');
    }
  });

  // The confirmation offers the introduction e-mail, when the prospect gave an address to be introduced by.
  const introduce = document.getElementById('introduce');
  let introduceReferral = null;
  // Before it goes, the giver reads the e-mail as the prospect will: the need is quoted as written for the receiver.
  async function preview() {
    const line = document.getElementById('introduce-line').value.trim();
    const answer = await api(`/api/chapters/${me.chapterId}/referrals/${introduceReferral}/introduction${line ? `?line=${encodeURIComponent(line)}` : ''}`)
      .catch(() => null);
    if (!answer?.ok) { document.getElementById('introduce-preview-box').hidden = true; return; }
    const mail = await answer.json();
    document.getElementById('introduce-preview-box').hidden = false;
    document.getElementById('introduce-to').textContent = `${mail.subject} · ${mail.to.join(', ')}`;
    document.getElementById('introduce-preview').textContent = mail.text;
  }
  let previewTimer;
  document.getElementById('introduce-line').addEventListener('input', () => { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 300); });

  function offerIntroduction(referralId, prospectName, receiverName) {
    introduceReferral = referralId;
    document.getElementById('introduce-status').textContent = '';
    document.getElementById('introduce-line').value = '';
    const send = document.getElementById('introduce-send');
    send.disabled = false;
    send.textContent = introduce.dataset.send.replace('{0}', prospectName).replace('{1}', receiverName);
    document.getElementById('introduce-warning').textContent = introduce.dataset.warning.replace('{0}', prospectName).replace('{1}', receiverName);
    introduce.hidden = false;
    preview();
  }
  document.getElementById('introduce-send').addEventListener('click', async () => {
    const note = document.getElementById('introduce-status');
    const button = document.getElementById('introduce-send');
    button.disabled = true;
    const line = document.getElementById('introduce-line').value.trim();
    let answer;
    try {
      answer = await api(`/api/chapters/${me.chapterId}/referrals/${introduceReferral}/introduce`,
        { method: 'POST', body: JSON.stringify(line ? { line } : {}) });
    } catch {
      button.disabled = false;
      note.textContent = texts.offline;
      note.className = 'error';
      return;
    }
    if (answer.ok) {
      note.textContent = introduce.dataset.sent;
      note.className = 'ok';
      return;
    }
    button.disabled = false;
    const problem = await answer.json().catch(() => ({}));
    note.textContent = introduce.dataset.failed.replace('{0}', Object.values(problem.errors ?? {}).flat().join(' ') || problem.detail || answer.statusText);
    note.className = 'error';
  });
  form.addEventListener('input', () => { introduce.hidden = true; });

  // What the chosen receiver is looking for, under their name: give what they asked for.
  let asks = new Map();
  function showAsk() {
    const box = document.getElementById('receiver-ask');
    const ask = asks.get(receiver.value);
    box.hidden = !ask;
    if (!ask) return;
    box.querySelector('.ask-text').textContent = ask.ask;
    box.querySelector('.ideal').hidden = !ask.idealReferral;
    box.querySelector('.ideal-text').textContent = ask.idealReferral ?? '';
  }
  receiver.addEventListener('change', showAsk);

  search.addEventListener('input', () => showMembers(search.value));

  (async () => {
    const answer = await api('/api/me');
    if (answer.status === 401) { signInAgain(); return; }
    me = await answer.json();
    const answered = await api(`/api/chapters/${me.chapterId}/asks`);
    if (answered.ok) asks = new Map((await answered.json()).items.map(a => [a.memberId, a]));
    const list = await window.chapterSession.list(`/api/chapters/${me.chapterId}/members`);
    members = list.items.filter(m => m.status === 'active' && m.id !== me.memberId)
      .sort((a, b) => a.name.localeCompare(b.name));
    showMembers('');
    const pending = JSON.parse(localStorage.getItem('chapter.pendingReferral') ?? 'null');
    if (pending) restore(pending.body);
    form.dataset.ready = 'true';
  })();
})();
