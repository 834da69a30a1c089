// A leader's member list: add, correct, mark as left, hand out sign-in links, forget a member who left; the chapter's export.
'use strict';
(async () => {
  const session = window.chapterSession;
  if (!session.token()) { location.replace('/signin'); return; }
  const page = document.getElementById('members-page');
  const texts = page.dataset;
  const chapter = encodeURIComponent(texts.chapter);
  const status = document.getElementById('members-status');
  const fill = (text, ...values) => values.reduce((t, v, i) => t.replace(`{${i}}`, v), text);
  const api = (path, options) => session.api(`/api/chapters/${chapter}${path}`, options);
  const say = (message, kind = '') => { status.textContent = message; status.className = kind; };

  const details = form => ({
    name: form.elements.name.value,
    profession: form.elements.profession.value,
    languages: [...[...form.querySelectorAll('input[name=language]:checked')].map(box => box.value),
      ...form.elements.languages.value.split(/[\s,;]+/).filter(Boolean)],
    role: form.elements.role.value,
  });

  // Errors beside their fields; "languages[1]" belongs to the languages field.
  async function failed(form, response) {
    const problem = await response.json().catch(() => ({}));
    for (const [name, messages] of Object.entries(problem.errors ?? {})) {
      const error = form.querySelector(`.field-error[data-field="${name.replace(/\[\d+\]$/, '')}"]`);
      if (error) { error.textContent = error.dataset.message || messages.join(' '); error.hidden = false; }
    }
    say(problem.errors ? '' : problem.detail ?? response.statusText, 'error');
  }

  const clearErrors = form => form.querySelectorAll('.field-error').forEach(e => { e.hidden = true; e.textContent = ''; });

  function card(member) {
    const item = document.getElementById('member-card').content.firstElementChild.cloneNode(true);
    // One form per card: give each field an id of its own so its label still points at it.
    for (const element of item.querySelectorAll('[id]')) element.id = `${element.id}-${member.id}`;
    for (const label of item.querySelectorAll('label[for]')) label.htmlFor = `${label.htmlFor}-${member.id}`;
    item.dataset.member = member.id;
    item.querySelector('.name').textContent = member.name === texts.formerMember ? texts.formerMemberShown : member.name;
    item.querySelector('.profession').textContent = member.profession;
    item.querySelector('.role').textContent = member.role === 'leader' ? texts.roleLeader : texts.roleMember;
    item.querySelector('.status').textContent = member.status === 'active' ? texts.statusActive : texts.statusLeft;
    item.querySelector('.spoken').textContent = member.languages.join(', ');
    if (member.status !== 'active') {
      item.querySelector('.actions').remove();
      // A member who left may ask to be forgotten; one forgotten already reads as "Former member".
      if (member.name !== texts.formerMember) {
        const forget = item.querySelector('details.forget');
        forget.hidden = false;
        const confirm = forget.querySelector('[data-act=forget]');
        confirm.textContent = fill(texts.confirmForget, member.name);
        confirm.addEventListener('click', async () => {
          const response = await api(`/members/${member.id}/personal-data`, { method: 'DELETE' });
          if (!response.ok) { await failed(item, response); return; }
          say(fill(texts.forgotten, member.name), 'ok');
          await render();
        });
      }
      return item;
    }

    const edit = item.querySelector('form[data-act=edit]');
    edit.elements.name.value = member.name;
    edit.elements.profession.value = member.profession;
    const boxes = [...edit.querySelectorAll('input[name=language]')];
    for (const box of boxes) box.checked = member.languages.includes(box.value);
    edit.elements.languages.value = member.languages.filter(code => !boxes.some(box => box.value === code)).join(', ');
    edit.elements.role.value = member.role;
    edit.addEventListener('submit', async event => {
      event.preventDefault();
      clearErrors(edit);
      const response = await api(`/members/${member.id}`, { method: 'PUT', body: JSON.stringify(details(edit)) });
      if (!response.ok) { await failed(edit, response); return; }
      say(texts.saved, 'ok');
      await render();
    });

    const leave = item.querySelector('[data-act=leave]');
    leave.textContent = fill(texts.confirmLeft, member.name);
    leave.addEventListener('click', async () => {
      const response = await api(`/members/${member.id}/leave`, { method: 'POST' });
      if (!response.ok) { await failed(item, response); return; }
      await render();
    });

    // The member's live links (tokens not revoked), each revocable; a new one is e-mailed, or made on purpose to be copied.
    const links = item.querySelector('details.links');
    const showLinks = async () => {
      const list = await session.list(`/api/chapters/${chapter}/members/${member.id}/tokens`);
      const live = (list.items ?? []).filter(t => !t.revokedAt);
      const date = new Intl.DateTimeFormat(texts.locale, { dateStyle: 'medium' });
      links.querySelector('.live-links').replaceChildren(...(live.length === 0
        ? [Object.assign(document.createElement('li'), { textContent: texts.noLinks })]
        : live.map(t => {
          const li = document.getElementById('live-link').content.firstElementChild.cloneNode(true);
          li.querySelector('.about').textContent = fill(texts.linkIssued, t.label, date.format(new Date(t.createdAt)))
            + (t.lastUsedAt ? ` · ${fill(texts.linkUsed, date.format(new Date(t.lastUsedAt)))}` : '');
          li.querySelector('[data-act=revoke]').addEventListener('click', async () => {
            const revoked = await api(`/members/${member.id}/tokens/${t.id}`, { method: 'DELETE' });
            if (!revoked.ok) { await failed(item, revoked); return; }
            await showLinks();
          });
          return li;
        })));
    };
    links.addEventListener('toggle', () => { if (links.open) showLinks(); });
    item.querySelector('[data-act=invite]').addEventListener('click', async () => {
      const response = await api(`/members/${member.id}/invite`, { method: 'POST' });
      if (!response.ok) { await failed(item, response); return; }
      say(fill(texts.invited, member.name), 'ok');
    });

    item.querySelector('[data-act=sign-in]').addEventListener('click', async () => {
      const response = await api(`/members/${member.id}/tokens`, { method: 'POST', body: JSON.stringify({ label: 'sign-in link' }) });
      if (!response.ok) { await failed(item, response); return; }
      await showLinks();
      const issued = await response.json();
      const box = item.querySelector('.sign-in');
      box.querySelector('.hint').textContent = fill(texts.signInHint, member.name);
      box.querySelector('.link').value = issued.signInUrl;
      box.hidden = false;
      box.querySelector('.link').select();
    });
    item.querySelector('[data-act=copy]').addEventListener('click', async () => {
      await navigator.clipboard?.writeText(item.querySelector('.link').value).catch(() => {});
      say(texts.copied, 'ok');
    });
    return item;
  }

  async function render() {
    const list = await session.list(`/api/chapters/${chapter}/members`);
    if (list.status === 401) { session.signInAgain(); return false; }
    if (list.status === 403) { say(texts.leadersOnly, 'error'); return false; }
    document.getElementById('members').replaceChildren(...list.items.map(card));
    page.dataset.ready = 'true';
    return true;
  }

  // The chapter's data as a ZIP: fetched with the leader's token (a plain link could not send it), then saved.
  document.getElementById('export-chapter').addEventListener('click', async () => {
    say(texts.exporting);
    const response = await api('/export');
    if (!response.ok) { say((await response.json().catch(() => ({}))).detail ?? response.statusText, 'error'); return; }
    const file = URL.createObjectURL(await response.blob());
    const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? `${texts.chapter}.zip`;
    Object.assign(document.createElement('a'), { href: file, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(file), 60_000);
    say('');
  });

  const add = document.getElementById('add-member');
  add.addEventListener('submit', async event => {
    event.preventDefault();
    clearErrors(add);
    const body = details(add);
    const response = await api('/members', { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) { await failed(add, response); return; }
    add.reset();
    say(fill(texts.added, body.name), 'ok');
    await render();
  });

  // Only leaders manage members: a member's token is refused by the server, and the form is not shown.
  const me = await (await session.api('/api/me')).json().catch(() => null);
  if (me?.role !== 'leader') {
    document.querySelector('.add-member').hidden = true;
    document.querySelector('.export').hidden = true;
    say(texts.leadersOnly, 'error');
    return;
  }
  await render();
})();
