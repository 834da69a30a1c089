// The leader's weekly report: rendered by the server (figures, SVG chart and flow), fetched with the leader's token.
'use strict';
(async () => {
  const session = window.chapterSession;
  if (!session.token()) { location.replace('/signin'); return; }
  const page = document.getElementById('report-page');
  const status = document.getElementById('report-status');
  const { chapter, week } = page.dataset;
  const url = `/api/chapters/${encodeURIComponent(chapter)}/reports/weekly/${encodeURIComponent(week)}`;
  const get = (accept, address = url) => session.api(address, { headers: { Accept: accept } });

  const response = await get('text/html');
  if (response.status === 401) { session.signInAgain(); return; }
  if (response.status === 403) { status.textContent = page.dataset.leadersOnly; return; }
  if (!response.ok) { status.textContent = (await response.json().catch(() => ({}))).detail ?? response.statusText; return; }

  document.getElementById('report').innerHTML = await response.text();
  status.textContent = '';
  const shown = document.querySelector('.report').dataset.week;
  history.replaceState(null, '', `/chapters/${encodeURIComponent(chapter)}/reports/weekly/${shown}`);
  page.dataset.ready = 'true';

  document.getElementById('print').addEventListener('click', () => window.print());
  document.getElementById('download-csv').addEventListener('click', async () => {
    const csv = await (await get('text/csv', `/api/chapters/${encodeURIComponent(chapter)}/reports/weekly/${shown}`)).blob();
    const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(csv), download: `${chapter}-${shown}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(link.href);
  });
})();
