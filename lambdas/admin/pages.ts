import type { ErasureReport } from '../../shared/console/privacy.ts';
import type { Register } from '../../shared/console/register.ts';
import type { Overview, SentRow, SmtpUserView } from '../../shared/console/service.ts';
import { SES_THRESHOLDS } from '../../shared/console/service.ts';
import type { PrivacyRequest } from '../../shared/stores/admin.ts';
import type { AuditEntry } from '../../shared/stores/audit.ts';
import type { BlockedSend, BlockedSendFilter } from '../../shared/stores/blocked-sends.ts';
import type { Contact } from '../../shared/stores/contacts.ts';
import type { Page } from '../../shared/stores/dynamo.ts';
import type { Opposition } from '../../shared/stores/opposition-list.ts';
import { blocksChart, rateMeter } from './chart.ts';
import { type Html, html, query, when } from './html.ts';
import { BASE, type PageContext, page } from './layout.ts';

const csrf = (ctx: PageContext) => html`<input type="hidden" name="csrf" value="${ctx.session.csrf}">`;
const isAdmin = (ctx: PageContext) => ctx.session.role === 'admin';

function controllerSelect(controllers: string[], current: string): Html {
  if (controllers.length < 2) return html`<input type="hidden" name="controller" value="${current}">`;
  return html`<label>Controller <select name="controller">${controllers.map(
    (c) => html`<option value="${c}"${c === current ? html` selected` : ''}>${c}</option>`,
  )}</select></label>`;
}

function pager(
  path: string,
  params: Record<string, string | undefined>,
  next: string | undefined,
  first: boolean,
): Html {
  return html`<nav class="pager row" aria-label="Pages">${first ? '' : html`<a class="button secondary" href="${path}${query({ ...params, page: undefined })}">« Newest</a>`}
${next ? html`<a class="button secondary" href="${path}${query({ ...params, page: next })}" rel="next">Older »</a>` : html`<span class="muted">End of the list.</span>`}</nav>`;
}

// Overview

export function overviewPage(ctx: PageContext, o: Overview, controllers: string[], daysShown: number): string {
  const pct = (r: number) => `${(r * 100).toFixed(2)} %`;
  const state = (rate: number, threshold: number) =>
    rate >= threshold ? 'bad' : rate >= threshold / 2 ? 'warn' : 'ok';
  const stat = (n: number | string, label: string, cls = '', href?: string) =>
    html`<div class="stat ${cls}"><div class="n">${href ? html`<a href="${href}">${n}</a>` : n}</div><div class="l">${label}</div></div>`;
  const alerts: string[] = [];
  if (o.bounceRate >= SES_THRESHOLDS.bounceRate)
    alerts.push(
      `The bounce rate is ${pct(o.bounceRate)}: SES puts accounts under review at 5 % and may pause sending at 10 %. Check the sources of your contact lists.`,
    );
  if (o.complaintRate >= SES_THRESHOLDS.complaintRate)
    alerts.push(
      `The complaint rate is ${pct(o.complaintRate)}: SES reviews accounts at 0.1 %; Gmail and Yahoo require under 0.3 %.`,
    );
  if (o.openReviews > 0)
    alerts.push(`${o.openReviews >= 100 ? '100+' : o.openReviews} flagged send(s) wait for a review.`);
  return page(
    'Overview',
    ctx,
    html`<form class="filters" method="get" action="${BASE}">${controllerSelect(controllers, o.controller)}
<label>Period <select name="days">${[1, 7, 30, 90].map((d) => html`<option value="${d}"${d === daysShown ? html` selected` : ''}>last ${d === 1 ? '24 hours' : `${d} days`}</option>`)}</select></label>
<button type="submit">Show</button></form>
${alerts.length > 0 ? html`<div class="flash error" role="alert"><strong>Needs attention:</strong><ul>${alerts.map((a) => html`<li>${a}</li>`)}</ul></div>` : html`<div class="flash ok" role="status">Nothing needs attention: rates are under SES's thresholds and no flagged send waits for review.</div>`}
<div class="grid">
${stat(o.sent, 'copies sent', '', `${BASE}/sent${query({ controller: o.controller })}`)}
${stat(o.events.delivered, 'delivered')}
${stat(o.events.bounced, 'hard bounces', o.events.bounced > 0 ? 'warn' : '')}
${stat(o.events['soft-bounced'], 'soft bounces')}
${stat(o.events.suppressed, 'suppressed by SES')}
${stat(o.events.complained, 'complaints', o.events.complained > 0 ? 'bad' : '')}
${stat(o.blocked, 'recipients blocked', '', `${BASE}/blocked${query({ controller: o.controller, outcome: 'blocked' })}`)}
${stat(o.flagged, 'flagged', '', `${BASE}/blocked${query({ controller: o.controller, outcome: 'flagged' })}`)}
${stat(o.openReviews >= 100 ? '100+' : o.openReviews, 'awaiting review', o.openReviews > 0 ? 'warn' : '', `${BASE}/blocked${query({ controller: o.controller, open: '1' })}`)}
</div>
<div class="grid">
<div class="stat ${state(o.bounceRate, SES_THRESHOLDS.bounceRate)}"><div class="n">${pct(o.bounceRate)}</div><div class="l">bounce rate (SES review at 5 %)</div>${rateMeter(o.bounceRate, SES_THRESHOLDS.bounceRate, 'Bounce rate')}</div>
<div class="stat ${state(o.complaintRate, SES_THRESHOLDS.complaintRate)}"><div class="n">${pct(o.complaintRate)}</div><div class="l">complaint rate (SES review at 0.1 %)</div>${rateMeter(o.complaintRate, SES_THRESHOLDS.complaintRate, 'Complaint rate')}</div>
</div>
<h2>Blocks by rule</h2>
${blocksChart(o.daily, o.from, o.to)}
<p class="muted">Rates are per copy sent in the period, from the SES events recorded (a bounce or complaint can arrive days after the send). The chart counts each refused or flagged recipient once.</p>`,
  );
}

// Blocked and flagged

export function blockedPage(
  ctx: PageContext,
  filter: BlockedSendFilter & { page?: string },
  result: Page<BlockedSend>,
  controllers: string[],
): string {
  const params: Record<string, string | undefined> = {
    controller: filter.controller,
    from: filter.from?.slice(0, 10),
    to: filter.to?.slice(0, 10),
    user: filter.user,
    sender: filter.sender,
    recipient: filter.recipient,
    rule: filter.rule,
    outcome: filter.outcome,
    open: filter.openReviews ? '1' : undefined,
  };
  const field = (name: string, label: string, value: string | undefined, type = 'text', placeholder = '') =>
    html`<label>${label} <input name="${name}" type="${type}" value="${value ?? ''}" placeholder="${placeholder}"></label>`;
  return page(
    filter.openReviews ? 'Flagged sends awaiting review' : 'Blocked and flagged sends',
    ctx,
    html`<form class="filters" method="get" action="${BASE}/blocked">${controllerSelect(controllers, filter.controller)}
${field('from', 'From', params.from, 'date')}${field('to', 'Until', params.to, 'date')}
${field('recipient', 'Recipient', filter.recipient, 'text', 'bob@x.example or @x.example')}
${field('sender', 'Sender', filter.sender, 'text', 'MAIL FROM')}${field('user', 'SMTP user', filter.user)}
${field('rule', 'Rule', filter.rule, 'text', 'opposition:address')}
<label>Outcome <select name="outcome"><option value="">any</option>${['blocked', 'flagged'].map((o) => html`<option${filter.outcome === o ? html` selected` : ''}>${o}</option>`)}</select></label>
<label class="row"><span>Awaiting review</span><input type="checkbox" name="open" value="1"${filter.openReviews ? html` checked` : ''}></label>
<button type="submit">Filter</button><a class="button secondary" href="${BASE}/blocked.csv${query(params)}" download>Export CSV</a></form>
<table class="responsive"><caption>Newest first; ${result.items.length} shown${result.next ? ', more on the next page' : ''}. A CSV export holds every row of this filter.</caption>
<thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Recipient</th><th scope="col">Rule</th><th scope="col">Sender / user</th><th scope="col">Subject</th><th scope="col"></th></tr></thead>
<tbody>${result.items.length === 0 ? html`<tr><td colspan="7" class="muted">Nothing matches these filters.</td></tr>` : ''}
${result.items.map(
  (b) => html`<tr><td data-label="When">${when(b.at)}</td>
<td data-label="Outcome"><span class="badge ${b.outcome}">${b.outcome}</span>${b.outcome === 'flagged' ? (b.review ? html` <span class="badge reviewed">reviewed</span>` : html` <span class="badge open">to review</span>`) : ''}</td>
<td data-label="Recipient" class="wrap">${b.recipient || html`<span class="muted">(before RCPT)</span>`}</td><td data-label="Rule"><code>${b.rule}</code></td>
<td data-label="Sender" class="wrap">${b.mailFrom}<br><span class="muted">${b.user}</span></td><td data-label="Subject" class="wrap">${b.subject ?? ''}</td>
<td><a href="${BASE}/blocked/${encodeURIComponent(b.controller)}/${encodeURIComponent(b.id)}">Details<span class="skip"> of ${b.recipient}</span></a></td></tr>`,
)}</tbody></table>
${pager(`${BASE}/blocked`, params, result.next, !filter.page)}`,
  );
}

export function blockedDetailPage(
  ctx: PageContext,
  detail: { send: BlockedSend; opposition: Opposition | null; audit: AuditEntry[] },
): string {
  const b = detail.send;
  const o = detail.opposition;
  return page(
    b.outcome === 'flagged' ? 'Flagged send' : 'Blocked send',
    ctx,
    html`<div class="card"><dl class="kv">
<dt>When</dt><dd>${b.at}</dd><dt>Outcome</dt><dd><span class="badge ${b.outcome}">${b.outcome}</span></dd>
<dt>Recipient</dt><dd>${b.recipient ? html`<a href="${BASE}/contacts${query({ controller: b.controller, address: b.recipient })}">${b.recipient}</a>` : '(none: refused before any recipient)'}</dd>
<dt>Rule</dt><dd><code>${b.rule}</code></dd><dt>Why</dt><dd>${b.reason ?? ''}</dd>
<dt>Reply to the client</dt><dd><code>${b.reply ?? (b.outcome === 'flagged' ? '(sent: a flag does not refuse)' : '')}</code></dd>
<dt>Subject</dt><dd>${b.subject ?? html`<span class="muted">(not known: refused before DATA)</span>`}</dd>
<dt>Message-ID</dt><dd><code>${b.messageId ?? ''}</code>${b.messageId ? html` · <a href="${BASE}/sent${query({ controller: b.controller, messageId: b.messageId })}">copies sent</a>` : ''}</dd>
<dt>Sender</dt><dd>${b.mailFrom}</dd><dt>SMTP user</dt><dd>${b.user}</dd><dt>Purpose</dt><dd>${b.purpose ?? ''}</dd><dt>Controller</dt><dd>${b.controller}</dd>
</dl></div>
${
  b.rule.startsWith('opposition')
    ? html`<h2>The opposition that matched</h2><div class="card">${
        o
          ? html`<dl class="kv"><dt>Entry</dt><dd><code>${o.subject}</code></dd><dt>Origin</dt><dd>${o.origin}</dd><dt>Requested</dt><dd>${o.requestedAt}</dd><dt>In effect since</dt><dd>${o.effectiveAt}</dd>
${Object.entries(o.evidence).map(([k, v]) => html`<dt>Evidence: ${k}</dt><dd>${v}</dd>`)}</dl>`
          : html`<p>The entry is no longer on the list (removed since: see the <a href="${BASE}/audit">audit trail</a>).</p>`
      }</div>`
    : ''
}
${
  b.outcome === 'flagged'
    ? b.review
      ? html`<h2>Review</h2><div class="card"><p><span class="badge reviewed">reviewed</span> by ${b.review.by}, ${when(b.review.at)}</p><blockquote>${b.review.comment}</blockquote></div>`
      : html`<h2>Review</h2><form class="card" method="post" action="${BASE}/blocked/${encodeURIComponent(b.controller)}/${encodeURIComponent(b.id)}/review">${csrf(ctx)}
<label>Comment (what you checked, what you concluded) <textarea name="comment" required minlength="3" maxlength="2000"></textarea></label>
<p><button type="submit">Mark reviewed</button></p></form>`
    : ''
}
<p><a href="${BASE}/blocked${query({ controller: b.controller })}">« Back to the list</a></p>`,
  );
}

// Sent mail

export function sentPage(
  ctx: PageContext,
  params: { controller: string; recipient?: string; messageId?: string; page?: string },
  result: Page<SentRow>,
  controllers: string[],
): string {
  return page(
    'Sent mail',
    ctx,
    html`<form class="filters" method="get" action="${BASE}/sent">${controllerSelect(controllers, params.controller)}
<label>Recipient <input name="recipient" type="email" value="${params.recipient ?? ''}" placeholder="bob@client.example"></label>
<label>Message-ID <input name="messageId" value="${params.messageId ?? ''}" placeholder="<id@host>"></label>
<button type="submit">Search</button></form>
<table class="responsive"><caption>One row per copy, newest first. What became of it comes from SES's events.</caption>
<thead><tr><th scope="col">Sent</th><th scope="col">Recipient</th><th scope="col">Subject</th><th scope="col">Status</th><th scope="col">User / purpose</th><th scope="col">SES message id / Message-ID</th></tr></thead>
<tbody>${result.items.length === 0 ? html`<tr><td colspan="6" class="muted">No copy matches.</td></tr>` : ''}
${result.items.map(
  (
    c,
  ) => html`<tr><td data-label="Sent">${when(c.at)}</td><td data-label="Recipient" class="wrap"><a href="${BASE}/contacts${query({ controller: c.controller, address: c.recipient })}">${c.recipient}</a></td>
<td data-label="Subject" class="wrap">${c.subject ?? ''}</td><td data-label="Status"><span class="badge ${c.status}">${c.status}</span>${c.events.filter((e) => e.detail).map((e) => html`<br><span class="muted">${e.kind}: ${e.detail}</span>`)}</td>
<td data-label="User">${c.user}<br><span class="muted">${c.purpose ?? ''}</span></td><td data-label="Ids" class="ids"><code>${c.sesMessageId}</code><br><a href="${BASE}/sent${query({ controller: c.controller, messageId: c.messageId })}"><code>${c.messageId ?? ''}</code></a></td></tr>`,
)}</tbody></table>
${pager(`${BASE}/sent`, { controller: params.controller, recipient: params.recipient, messageId: params.messageId }, result.next, !params.page)}`,
  );
}

// Oppositions

export function oppositionsPage(
  ctx: PageContext,
  params: { controller: string; q?: string; page?: string },
  result: Page<Opposition>,
  controllers: string[],
): string {
  return page(
    'Oppositions',
    ctx,
    html`<form class="filters" method="get" action="${BASE}/oppositions" role="search">${controllerSelect(controllers, params.controller)}
<label>Address or @domain <input name="q" value="${params.q ?? ''}" placeholder="bob@client.example or @client.example"></label>
<button type="submit">Search</button><a class="button secondary" href="${BASE}/oppositions.csv${query({ controller: params.controller })}" download>Export CSV</a>
${isAdmin(ctx) ? html`<a class="button secondary" href="${BASE}/oppositions/import${query({ controller: params.controller })}">Import CSV</a>` : ''}</form>
${
  isAdmin(ctx)
    ? html`<section class="card" aria-labelledby="add-opposition"><h2 id="add-opposition">Add an opposition</h2>
<form method="post" action="${BASE}/oppositions" class="filters">${csrf(ctx)}<input type="hidden" name="controller" value="${params.controller}">
<label>Address or @domain to oppose <input name="subject" required placeholder="bob@client.example"></label>
<label>Note (how the person objected) <input name="note" size="40" placeholder="phone call of 2026-11-20"></label><button type="submit">Add</button></form></section>`
    : ''
}
<table class="responsive"><caption>${params.q ? `Entries that cover ${params.q}` : 'Every entry'}: from these, every send is refused.</caption>
<thead><tr><th scope="col">Entry</th><th scope="col">Origin</th><th scope="col">In effect since</th><th scope="col">Evidence</th>${isAdmin(ctx) ? html`<th scope="col">Remove</th>` : ''}</tr></thead>
<tbody>${result.items.length === 0 ? html`<tr><td colspan="5" class="muted">${params.q ? `No entry covers ${params.q}: mail to it is sent.` : 'The list is empty.'}</td></tr>` : ''}
${result.items.map(
  (
    o,
  ) => html`<tr><td data-label="Entry" class="wrap"><code>${o.subject}</code></td><td data-label="Origin">${o.origin}</td><td data-label="Since">${when(o.effectiveAt)}</td>
<td data-label="Evidence" class="wrap">${Object.entries(o.evidence).map(([k, v]) => html`<span class="muted">${k}:</span> ${v}<br>`)}</td>
${
  isAdmin(ctx)
    ? html`<td><details><summary>Remove…</summary><form method="post" action="${BASE}/oppositions/remove">${csrf(ctx)}<input type="hidden" name="controller" value="${params.controller}"><input type="hidden" name="subject" value="${o.subject}">
<label>Justification (kept in the audit trail) <textarea name="justification" required minlength="10" placeholder="consented again by e-mail on …"></textarea></label><button class="danger" type="submit">Remove ${o.subject}</button></form></details></td>`
    : ''
}</tr>`,
)}</tbody></table>
${pager(`${BASE}/oppositions`, { controller: params.controller, q: params.q }, result.next, !params.page)}`,
  );
}

/** Import pages: the file is read in the browser and sent in slices, so a large list shows progress. */
export function importPage(
  ctx: PageContext,
  kind: 'oppositions' | 'contacts',
  controller: string,
  controllers: string[],
): string {
  const help =
    kind === 'oppositions'
      ? html`<p>A CSV file with one address or <code>@domain</code> per row: a column named <code>address</code> or <code>email</code>, or the first column. Separated by <code>,</code> <code>;</code> or tab. Each entry is recorded with origin <code>import</code>, the file's name and today's date as evidence; an address already on the list keeps its first entry.</p>`
      : html`<p>The same file as <code>npm run fairsend -- contacts import</code>: columns <code>address, source, obtainedAt, profession, company, professional, language, reason, consentAt, consentHow</code>.</p>`;
  return page(
    kind === 'oppositions' ? 'Import oppositions' : 'Import contacts',
    ctx,
    html`<div class="card">${help}
<form id="import" class="filters" data-kind="${kind}" data-endpoint="${BASE}/api/${kind}/import">${controllerSelect(controllers, controller)}
<label>CSV file <input type="file" name="file" accept=".csv,.txt,text/csv" required></label><button type="submit">Import</button></form>
<div id="progress" hidden><progress max="100" value="0" aria-label="Import progress"></progress><p id="status" role="status" aria-live="polite"></p></div>
<div id="refused" hidden><h2>Refused rows</h2><p><a id="rejects" class="button secondary" download="refused-rows.csv">Download every refused row (CSV)</a></p>
<table><thead><tr><th scope="col">Line</th><th scope="col">Value</th><th scope="col">Reason</th></tr></thead><tbody></tbody></table></div></div>`,
    { script: IMPORT_SCRIPT },
  );
}

const IMPORT_SCRIPT = `
(() => {
  const form = document.getElementById('import');
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const status = document.getElementById('status');
  const bar = document.querySelector('#progress progress');
  const body = document.querySelector('#refused tbody');
  const cell = (text) => { const td = document.createElement('td'); td.textContent = text; return td; };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = form.file.files[0];
    if (!file) return;
    const text = (await file.text()).replace(/^\\uFEFF/, '');
    const lines = text.split(/\\r?\\n/);
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const header = lines[0] || '';
    const isOpp = form.dataset.kind === 'oppositions';
    const hasHeader = isOpp ? !header.includes('@') || /address|e-?mail|courriel|adresse/i.test(header) : true;
    const rows = hasHeader ? lines.slice(1) : lines;
    const size = 250;
    const totals = { done: 0, added: 0, existing: 0, refused: [] };
    const importedAt = new Date().toISOString();
    document.getElementById('progress').hidden = false;
    form.querySelector('button').disabled = true;
    body.textContent = '';
    for (let i = 0; i < rows.length; i += size) {
      const slice = rows.slice(i, i + size);
      const firstLine = 1 + i;
      const params = new URLSearchParams({ controller: form.controller.value, file: file.name, firstLine: String(firstLine), header: hasHeader ? '1' : '0', importedAt });
      let answer;
      try {
        const res = await fetch(form.dataset.endpoint + '?' + params, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'content-type': 'text/csv', 'x-csrf-token': csrf },
          body: (hasHeader ? header + '\\n' : '') + slice.join('\\n'),
        });
        answer = await res.json();
        if (!res.ok) throw new Error(answer.error || res.statusText);
      } catch (err) {
        status.textContent = 'Stopped at data row ' + (i + 1) + ': ' + err.message + '. Rows before it are imported; import the rest again (already imported rows are kept as they are).';
        form.querySelector('button').disabled = false;
        return;
      }
      totals.done += slice.length;
      totals.added += answer.added ?? answer.saved ?? 0;
      totals.existing += answer.existing ?? 0;
      for (const r of answer.refused) {
        totals.refused.push(r);
        const tr = document.createElement('tr');
        tr.append(cell(String(r.line)), cell(r.value ?? lines[r.line - 1] ?? ''), cell(r.reason));
        body.append(tr);
      }
      bar.value = Math.round((totals.done / rows.length) * 100);
      status.textContent = totals.done + ' of ' + rows.length + ' rows: ' + totals.added + (isOpp ? ' added, ' + totals.existing + ' already on the list, ' : ' saved, ') + totals.refused.length + ' refused';
    }
    status.textContent = 'Done. ' + status.textContent + '.';
    form.querySelector('button').disabled = false;
    if (totals.refused.length > 0) {
      document.getElementById('refused').hidden = false;
      const q = (v) => '"' + String(v).replace(/"/g, '""') + '"';
      const csv = 'line,value,reason\\r\\n' + totals.refused.map((r) => [r.line, r.value ?? lines[r.line - 1] ?? '', r.reason].map(q).join(',')).join('\\r\\n') + '\\r\\n';
      document.getElementById('rejects').href = URL.createObjectURL(new Blob(['\\uFEFF' + csv], { type: 'text/csv' }));
    }
  });
})();
`;

// Contacts and a person's history

export function contactsPage(
  ctx: PageContext,
  controller: string,
  controllers: string[],
  person?: {
    address: string;
    contact: Contact | undefined;
    sent: SentRow[];
    blocked: BlockedSend[];
    oppositions: Opposition[];
    audit: AuditEntry[];
  },
): string {
  const c = person?.contact;
  const input = (name: keyof Contact, label: string, type = 'text') =>
    html`<label>${label} <input name="${name}" type="${type}" value="${(c?.[name] as string | undefined) ?? ''}"${isAdmin(ctx) ? '' : html` readonly`}></label>`;
  return page(
    person ? `Contact ${person.address}` : 'Contacts',
    ctx,
    html`<form class="filters" method="get" action="${BASE}/contacts" role="search">${controllerSelect(controllers, controller)}
<label>Address <input name="address" type="email" required value="${person?.address ?? ''}" placeholder="bob@client.example"></label><button type="submit">Look up</button>
${isAdmin(ctx) ? html`<a class="button secondary" href="${BASE}/contacts/import${query({ controller })}">Import CSV</a>` : ''}</form>
${
  person
    ? html`<h2>Record</h2>${c ? '' : html`<p class="muted">No record yet for ${person.address}${isAdmin(ctx) ? ': fill in what you know and save.' : '.'}</p>`}
<form class="card" method="post" action="${BASE}/contacts">${csrf(ctx)}<input type="hidden" name="controller" value="${controller}"><input type="hidden" name="address" value="${person.address}">
<div class="grid">${input('source', 'Data source')}${input('obtainedAt', 'Obtained on', 'date')}${input('profession', 'Profession')}${input('company', 'Company')}
<label>Language <select name="language"${isAdmin(ctx) ? '' : html` disabled`}><option value="">(controller's)</option>${['fr', 'en', 'de'].map((l) => html`<option${c?.language === l ? html` selected` : ''}>${l}</option>`)}</select></label>
<label class="row"><span>Contacted as a professional</span><input type="checkbox" name="professional" value="1"${c?.professional ? html` checked` : ''}${isAdmin(ctx) ? '' : html` disabled`}></label></div>
<label>Why this person is contacted <input name="reason" value="${c?.reason ?? ''}"${isAdmin(ctx) ? '' : html` readonly`}></label>
<p class="muted">First contact: ${c?.firstContactAt ?? 'not yet'} · last copy sent: ${person.sent[0]?.at ?? 'never'}${c?.consent ? ` · consent: ${c.consent.how} (${c.consent.at})` : ''}</p>
${isAdmin(ctx) ? html`<button type="submit">Save</button>` : ''}</form>
<h2>Oppositions</h2>${person.oppositions.length === 0 ? html`<p>None: mail to ${person.address} is sent.</p>` : html`<ul>${person.oppositions.map((o) => html`<li><code>${o.subject}</code>, ${o.origin}, since ${o.effectiveAt}</li>`)}</ul>`}
<h2>Copies sent (${person.sent.length})</h2>
<table class="responsive"><thead><tr><th scope="col">Sent</th><th scope="col">Subject</th><th scope="col">Status</th><th scope="col">Purpose</th><th scope="col">User</th><th scope="col">Message-ID</th></tr></thead><tbody>
${person.sent.length === 0 ? html`<tr><td colspan="6" class="muted">None.</td></tr>` : ''}
${person.sent.map((s) => html`<tr><td data-label="Sent">${s.at}</td><td data-label="Subject" class="wrap">${s.subject ?? ''}</td><td data-label="Status"><span class="badge ${s.status}">${s.status}</span></td><td data-label="Purpose">${s.purpose ?? ''}</td><td data-label="User">${s.user}</td><td data-label="Message-ID" class="wrap"><code>${s.messageId ?? ''}</code></td></tr>`)}</tbody></table>
<h2>Blocked and flagged (${person.blocked.length})</h2>
<table class="responsive"><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Rule</th><th scope="col">Subject</th></tr></thead><tbody>
${person.blocked.length === 0 ? html`<tr><td colspan="4" class="muted">None.</td></tr>` : ''}
${person.blocked.map((b) => html`<tr><td data-label="When"><a href="${BASE}/blocked/${encodeURIComponent(b.controller)}/${encodeURIComponent(b.id)}">${b.at}</a></td><td data-label="Outcome"><span class="badge ${b.outcome}">${b.outcome}</span></td><td data-label="Rule"><code>${b.rule}</code></td><td data-label="Subject" class="wrap">${b.subject ?? ''}</td></tr>`)}</tbody></table>
<h2>Changes (audit trail)</h2>${auditTable(person.audit)}`
    : html`<p>Look up a person to see and edit their record and everything sent to them, blocked or objected.</p>`
}`,
  );
}

// SMTP users

export function usersPage(ctx: PageContext, users: SmtpUserView[]): string {
  return page(
    'SMTP users',
    ctx,
    html`${isAdmin(ctx) ? html`<p><a class="button" href="${BASE}/users/new">Add an SMTP user</a></p>` : ''}
<table class="responsive"><caption>Changes reach every relay within seconds. Users from the config file become console users once edited here.</caption>
<thead><tr><th scope="col">User</th><th scope="col">State</th><th scope="col">Controller</th><th scope="col">Allowed senders</th><th scope="col">Default purpose</th><th scope="col">Last login</th><th scope="col">Failed logins</th></tr></thead>
<tbody>${users.map(
      (
        u,
      ) => html`<tr><td data-label="User"><a href="${BASE}/users/${encodeURIComponent(u.name)}">${u.name}</a> <span class="badge ${u.source}">${u.source}</span></td>
<td data-label="State"><span class="badge ${u.disabled ? 'disabled' : 'enabled'}">${u.disabled ? 'disabled' : 'enabled'}</span></td><td data-label="Controller">${u.controller}</td>
<td data-label="Allowed" class="wrap">${u.allowedFrom.join(', ')}</td><td data-label="Purpose">${u.defaultPurpose ?? ''}</td>
<td data-label="Last login">${when(u.logins?.lastLoginAt)}${u.logins?.lastLoginIp ? html`<br><span class="muted">${u.logins.lastLoginIp}</span>` : ''}</td>
<td data-label="Failed">${u.logins?.failedLogins ? html`<span class="badge flagged">${u.logins.failedLogins}</span> last ${when(u.logins.lastFailedAt)} from ${u.logins.lastFailedIp ?? '?'}` : '0'}</td></tr>`,
    )}</tbody></table>`,
  );
}

export function userFormPage(
  ctx: PageContext,
  options: {
    user?: SmtpUserView;
    controllers: string[];
    purposes: { id: string; controller: string }[];
    password?: string;
    values?: Record<string, string>;
  },
): string {
  const u = options.user;
  const v = options.values ?? {};
  const creating = !u;
  const action = creating ? `${BASE}/users` : `${BASE}/users/${encodeURIComponent(u.name)}`;
  const ro = isAdmin(ctx) ? '' : html` disabled`;
  return page(
    creating ? 'Add an SMTP user' : `SMTP user ${u.name}`,
    ctx,
    html`${
      options.password
        ? html`<div class="card" role="status"><h2>Password for ${u?.name ?? v.name}</h2><p>Shown once: copy it into the mail tool now. Fairsend keeps only its scrypt hash.</p><p class="secret" id="new-password">${options.password}</p>
<p class="muted">Log in with AUTH PLAIN or LOGIN over TLS (STARTTLS or implicit TLS).</p></div>`
        : ''
    }
<form class="card" method="post" action="${action}">${csrf(ctx)}
<div class="grid">${creating ? html`<label>User name <input name="name" required pattern="[A-Za-z0-9._@+\\-]{1,128}" value="${v.name ?? ''}"></label>` : html`<input type="hidden" name="name" value="${u.name}">`}
<label>Controller <select name="controller"${ro}>${options.controllers.map((c) => html`<option${(u?.controller ?? v.controller) === c ? html` selected` : ''}>${c}</option>`)}</select></label>
<label>Default purpose <select name="defaultPurpose"${ro}><option value="">(none: the client must say)</option>${options.purposes.map((p) => html`<option value="${p.id}"${(u?.defaultPurpose ?? v.defaultPurpose) === p.id ? html` selected` : ''}>${p.id} (${p.controller})</option>`)}</select></label>
<label>Refused recipients <select name="refusalMode"${ro}>${[
      ['reject', 'reject at RCPT (programs)'],
      ['drop-and-notify', 'drop and notify the sender (desktop clients)'],
    ].map(
      ([value, label]) =>
        html`<option value="${value}"${(u?.refusalMode ?? v.refusalMode) === value ? html` selected` : ''}>${label}</option>`,
    )}</select></label></div>
<label>Allowed senders (addresses or domains, one per line) <textarea name="allowedFrom" required${ro}>${(u?.allowedFrom ?? (v.allowedFrom ?? '').split(/\s+/)).join('\n')}</textarea></label>
${isAdmin(ctx) ? html`<p><button type="submit">${creating ? 'Add user and make a password' : 'Save'}</button></p>` : ''}</form>
${
  !creating && isAdmin(ctx)
    ? html`<div class="row"><form method="post" action="${action}/password">${csrf(ctx)}<button type="submit" class="secondary">Set a new password</button></form>
<form method="post" action="${action}/${u.disabled ? 'enable' : 'disable'}">${csrf(ctx)}<button type="submit" class="${u.disabled ? 'secondary' : 'danger'}">${u.disabled ? 'Enable' : 'Disable'} ${u.name}</button></form></div>`
    : ''
}
<p><a href="${BASE}/users">« All SMTP users</a></p>`,
  );
}

// Audit trail

function auditTable(entries: AuditEntry[]): Html {
  return html`<table class="responsive"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Target</th><th scope="col">Why / details</th></tr></thead><tbody>
${entries.length === 0 ? html`<tr><td colspan="5" class="muted">No entry.</td></tr>` : ''}
${entries.map(
  (
    e,
  ) => html`<tr><td data-label="When">${when(e.at)}</td><td data-label="Who">${e.actor} <span class="muted">(${e.via})</span></td><td data-label="What"><code>${e.action}</code></td>
<td data-label="Target" class="wrap">${e.controller ? html`<span class="muted">${e.controller}:</span> ` : ''}${e.target ?? ''}</td>
<td data-label="Why" class="wrap">${e.reason ? html`<strong>${e.reason}</strong><br>` : ''}${Object.entries(e.details).map(([k, v]) => html`<span class="muted">${k}:</span> ${v}<br>`)}</td></tr>`,
)}</tbody></table>`;
}

export function auditPage(ctx: PageContext, result: Page<AuditEntry>, first: boolean): string {
  return page(
    'Audit trail',
    ctx,
    html`<p class="row"><span class="muted">Every change made in the console, the API or the CLI, newest first. Nothing here can be edited or deleted.</span>
<a class="button secondary" href="${BASE}/audit.csv" download>Export CSV</a></p>${auditTable(result.items)}${pager(`${BASE}/audit`, {}, result.next, first)}`,
  );
}

export function errorPage(ctx: PageContext, title: string, message: string): string {
  return page(
    title,
    ctx,
    html`<div class="flash error" role="alert">${message}</div><p><a href="${BASE}">« Overview</a></p>`,
  );
}

// Privacy requests (GDPR art. 15–21)

export function privacyPage(
  ctx: PageContext,
  requests: (PrivacyRequest & { dueIn: number })[],
  controllers: string[],
  result?: Html,
): string {
  const open = requests.filter((r) => r.status === 'open');
  const closed = requests.filter((r) => r.status !== 'open').slice(0, 50);
  const due = (r: PrivacyRequest & { dueIn: number }) =>
    r.dueIn < 0
      ? html`<span class="badge blocked">late by ${-r.dueIn} d</span>`
      : r.dueIn <= 7
        ? html`<span class="badge flagged">in ${r.dueIn} d</span>`
        : html`<span class="badge sent">in ${r.dueIn} d</span>`;
  const admin = isAdmin(ctx);
  return page(
    'Privacy requests',
    ctx,
    html`${result ?? ''}
<section class="card" aria-labelledby="open-requests"><h2 id="open-requests">Open requests (${open.length}), by deadline</h2>
<table class="responsive"><thead><tr><th scope="col">Request</th><th scope="col">Kind</th><th scope="col">Person</th><th scope="col">Received</th><th scope="col">Due</th>${admin ? html`<th scope="col">Answer</th>` : ''}</tr></thead><tbody>
${open.length === 0 ? html`<tr><td colspan="6" class="muted">No open request.</td></tr>` : ''}
${open.map(
  (
    r,
  ) => html`<tr><td data-label="Request"><code>${r.id}</code><br><span class="muted">${r.controller}${r.channel ? ` · ${r.channel}` : ''}</span></td><td data-label="Kind">${r.kind}</td><td data-label="Person">${r.subjectMasked}</td>
<td data-label="Received">${r.receivedAt.slice(0, 10)}</td><td data-label="Due">${(r.extension?.until ?? r.deadline).slice(0, 10)} ${due(r)}${r.extension ? html`<br><span class="muted">extended: ${r.extension.reason}</span>` : ''}</td>
${
  admin
    ? html`<td><details><summary>Close…</summary><form method="post" action="${BASE}/privacy/requests/${encodeURIComponent(r.id)}/close">${csrf(ctx)}
<label>How it was answered <input name="outcome" required minlength="3"></label><label class="row"><span>Refused (say why above)</span><input type="checkbox" name="refused" value="1"></label><button type="submit">Close</button></form></details>
${r.extension ? '' : html`<details><summary>Extend…</summary><form method="post" action="${BASE}/privacy/requests/${encodeURIComponent(r.id)}/extend">${csrf(ctx)}<label>Reason (the person is told) <input name="reason" required minlength="10"></label><button type="submit" class="secondary">Extend by two months</button></form></details>`}</td>`
    : ''
}</tr>`,
)}</tbody></table></section>
${
  admin
    ? html`<section class="card" aria-labelledby="new-request"><h2 id="new-request">Record a request</h2>
<form method="post" action="${BASE}/privacy/requests" class="filters">${csrf(ctx)}${controllerSelect(controllers, controllers[0]!)}
<label>Kind <select name="kind"><option value="access">access (art. 15)</option><option value="erasure">erasure (art. 17)</option><option value="objection">objection (art. 21)</option><option value="rectification">rectification (art. 16)</option></select></label>
<label>Address of the person <input name="address" type="email" required></label><label>Received on <input name="receivedAt" type="date"></label>
<label>Channel <input name="channel" placeholder="e-mail to the privacy address"></label><button type="submit">Record</button></form>
<p class="muted">The register keeps the request with a masked address and a keyed hash, so it outlives an erasure without the address in clear. The deadline is one month (art. 12(3)), extendable by two with a reason.</p></section>`
    : ''
}
<section class="card" aria-labelledby="access"><h2 id="access">Access: everything held about a person</h2>
<form method="get" action="${BASE}/privacy/access" class="filters"><label>Address <input name="address" type="email" required></label>
<label>Language of the page <select name="lang"><option value="fr">français</option><option value="en">English</option></select></label><button type="submit">Show the report</button></form>
<p class="muted">The page is what the person receives (print it to PDF); <code>/admin/api/privacy/access?address=…</code> gives the same as JSON. It covers every controller and the address's <code>+tag</code> variants.</p></section>
${
  admin
    ? html`<section class="card" aria-labelledby="erase"><h2 id="erase">Erasure</h2>
<form method="post" action="${BASE}/privacy/erase" class="filters">${csrf(ctx)}<label>Address <input name="address" type="email" required></label>
<label>Request <select name="requestId"><option value="">(none: give a reason)</option>${open.filter((r) => r.kind === 'erasure').map((r) => html`<option value="${r.id}">${r.id} · ${r.subjectMasked}</option>`)}</select></label>
<label>Reason (without a request) <input name="reason"></label><label class="row"><span>I understand this cannot be undone</span><input type="checkbox" name="confirm" value="1" required></label>
<button type="submit" class="danger">Erase</button></form>
<p class="muted">Deletes the person's contact records, copies sent, SES events and blocked sends; keeps their opposition as a keyed hash, so nothing is sent to them again.</p></section>`
    : ''
}
<section class="card" aria-labelledby="closed"><h2 id="closed">Answered requests</h2>
<table class="responsive"><thead><tr><th scope="col">Request</th><th scope="col">Kind</th><th scope="col">Person</th><th scope="col">Received</th><th scope="col">Closed</th><th scope="col">Outcome</th></tr></thead><tbody>
${closed.length === 0 ? html`<tr><td colspan="6" class="muted">None yet.</td></tr>` : ''}
${closed.map((r) => html`<tr><td data-label="Request"><code>${r.id}</code></td><td data-label="Kind">${r.kind}</td><td data-label="Person">${r.subjectMasked}</td><td data-label="Received">${r.receivedAt.slice(0, 10)}</td><td data-label="Closed">${r.closedAt?.slice(0, 10)} by ${r.closedBy} <span class="badge ${r.status === 'done' ? 'delivered' : 'blocked'}">${r.status}</span></td><td data-label="Outcome" class="wrap">${r.outcome ?? ''}</td></tr>`)}
</tbody></table></section>`,
  );
}

export function erasureResult(reports: ErasureReport[]): Html {
  return html`<div class="flash ok" role="status"><strong>Erased.</strong> ${reports.map(
    (r) =>
      html`${r.controller}: ${r.contacts} contact record(s), ${r.sendLog} send-log item(s), ${r.blocked} blocked send(s) over ${r.addresses} address(es) deleted; the opposition is kept as a keyed hash. `,
  )}</div>`;
}

// The register of processing (art. 30)

export function registerPage(ctx: PageContext, register: Register, controllers: string[]): string {
  const fr = register.language === 'fr';
  const row = (k: string, v: string) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`;
  const fig = (f: Record<string, number>) =>
    Object.keys(f).length === 0
      ? fr
        ? 'aucun'
        : 'none'
      : Object.entries(f)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k}: ${n}`)
          .join('; ');
  return page(
    fr ? 'Registre des traitements (art. 30)' : 'Record of processing (art. 30)',
    ctx,
    html`<form class="filters noprint" method="get" action="${BASE}/register">${controllerSelect(['', ...controllers], '')}
<label>Language <select name="lang"><option value="fr"${fr ? html` selected` : ''}>français</option><option value="en"${fr ? '' : html` selected`}>English</option></select></label><button type="submit">Show</button>
<a class="button secondary" href="${BASE}/register.md${query({ lang: register.language })}" download>Markdown</a><a class="button secondary" href="${BASE}/api/register${query({ lang: register.language })}">JSON</a>
<span class="muted">Print this page for a PDF.</span></form>
<p class="muted">${fr ? 'Établi le' : 'Generated on'} ${register.generatedAt.slice(0, 10)} ${fr ? 'à partir de la configuration et des tables.' : 'from the configuration and the tables.'}</p>
${register.controllers.map(
  (
    c,
  ) => html`<section class="card"><h2>${c.legalName}</h2><table><tbody>${row(fr ? 'Adresse' : 'Address', c.postalAddress)}${row('Contact', c.contactEmail)}${row(fr ? 'Exercice des droits' : 'Data-subject requests', c.privacyEmail)}</tbody></table>
${c.entries.map(
  (e) => html`<h3>${e.description} <code>${e.purpose}</code></h3><table><tbody>
${row(fr ? 'Base légale' : 'Legal basis', e.legalBasis === 'consent' ? (fr ? 'consentement (art. 6(1)(a))' : 'consent (art. 6(1)(a))') : fr ? 'intérêt légitime (art. 6(1)(f))' : 'legitimate interest (art. 6(1)(f))')}
${row(fr ? 'Personnes concernées' : 'Categories of people', e.categoriesOfPeople)}${row(fr ? 'Données' : 'Categories of data', e.categoriesOfData)}
${row(fr ? 'Sources' : 'Sources', e.dataSources.join('; '))}${row(fr ? 'Destinataires' : 'Recipients', e.recipients)}
${e.balancingTest ? html`${row(fr ? 'Intérêt poursuivi' : 'Interest pursued', e.balancingTest.interest)}${row(fr ? 'Nécessité' : 'Necessity', e.balancingTest.necessity)}${row(fr ? 'Mise en balance' : 'Balance', e.balancingTest.balance)}` : ''}
${e.consentCollection ? html`${row(fr ? 'Recueil du consentement' : 'How consent is collected', e.consentCollection.how)}${row(fr ? 'Preuve' : 'Proof', e.consentCollection.proof)}` : ''}
${row(fr ? 'Copies envoyées (12 mois)' : 'Copies sent (12 months)', String(e.copiesLast12Months))}</tbody></table>`,
)}
<h3>${fr ? 'Sous-traitants' : 'Processors'}</h3><table><tbody>${c.processors.map((p) => html`<tr><td>${p.name}</td><td>${p.service}</td><td>${p.region}</td><td>${p.leavesEu}</td></tr>`)}</tbody></table>
<h3>${fr ? 'Durées de conservation' : 'Retention'}</h3><table><tbody>${c.retention.map((r) => row(r.kind, r.period))}</tbody></table>
<h3>${fr ? 'Mesures de sécurité' : 'Security measures'}</h3><ul>${c.security.map((s) => html`<li>${s}</li>`)}</ul>
<h3>${fr ? 'Chiffres' : 'Figures'}</h3><table><tbody>${row(fr ? 'Personnes, par source' : 'People, by source', fig(c.figures.peopleBySource))}${row(fr ? 'Oppositions, par origine' : 'Oppositions, by origin', fig(c.figures.oppositionsByOrigin))}
${row(fr ? 'Demandes' : 'Requests', `${c.figures.requests.received} / ${c.figures.requests.answered} / ${c.figures.requests.open} / ${c.figures.requests.late} (${fr ? 'reçues / traitées / en cours / hors délai' : 'received / answered / open / late'})${c.figures.requests.medianDays !== undefined ? `; ${fr ? 'délai médian' : 'median'} ${c.figures.requests.medianDays} d` : ''}`)}</tbody></table></section>`,
)}`,
  );
}
