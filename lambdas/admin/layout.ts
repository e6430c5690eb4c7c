import type { AdminSession } from '../../shared/stores/admin.ts';
import { swatchCss } from './chart.ts';
import { Html, html } from './html.ts';

/** Where the console lives, under the HTTP API (the same base locally and in AWS). */
export const BASE = '/admin';

const NAV: { path: string; label: string; adminOnly?: boolean }[] = [
  { path: '', label: 'Overview' },
  { path: '/blocked', label: 'Blocked & flagged' },
  { path: '/sent', label: 'Sent mail' },
  { path: '/oppositions', label: 'Oppositions' },
  { path: '/contacts', label: 'Contacts' },
  { path: '/users', label: 'SMTP users' },
  { path: '/audit', label: 'Audit trail' },
  { path: '/privacy', label: 'Privacy requests' },
  { path: '/register', label: 'Register (art. 30)' },
];

/**
 * The console's style: system fonts, one column on a tablet, a side navigation on a laptop,
 * WCAG AA contrast, visible focus. Inline under a per-response nonce (the CSP allows nothing else).
 */
const CSS = `
:root{--ink:#1c2430;--muted:#5b6675;--line:#d9dee5;--bg:#f5f7fa;--card:#fff;--brand:#123c69;--accent:#0b63c5;
--ok:#1d6b3a;--ok-bg:#e3f4e8;--warn:#8a5300;--warn-bg:#fff1d6;--bad:#a4161a;--bad-bg:#fde4e4;--info-bg:#e6effa}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f0a500;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header.top{background:var(--brand);color:#fff;display:flex;align-items:center;gap:16px;padding:10px 20px}
header.top .brand{font-weight:700;font-size:18px;letter-spacing:.2px}header.top .who{margin-left:auto;font-size:14px}
header.top form{display:inline}header.top button{background:transparent;color:#fff;border:1px solid #ffffff80;border-radius:6px;padding:4px 10px;cursor:pointer}
.shell{display:grid;grid-template-columns:210px 1fr;min-height:calc(100vh - 52px)}
nav.side{background:#fff;border-right:1px solid var(--line);padding:12px 0}nav.side a{display:block;padding:9px 20px;color:var(--ink);text-decoration:none}
nav.side a[aria-current=page]{background:var(--info-bg);border-left:4px solid var(--accent);padding-left:16px;font-weight:600}
nav.side a:hover{background:#eef2f7}
main{padding:20px 28px;max-width:1280px;width:100%}h1{font-size:24px;margin:0 0 14px}h2{font-size:18px;margin:22px 0 10px}
figure{margin:0 0 16px}.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:16px}
.grid{display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(170px,1fr))}
.stat{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}.stat .n{font-size:26px;font-weight:700}.stat .l{color:var(--muted);font-size:13px}
.stat.bad{border-color:#e9a0a0;background:var(--bad-bg)}.stat.warn{border-color:#e8c27a;background:var(--warn-bg)}.stat.ok{border-color:#9fd1ae}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden}
caption{text-align:left;color:var(--muted);padding:6px 2px;caption-side:bottom;font-size:13px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#eef2f7;font-size:13px;color:#34404f}
tbody tr:hover{background:#f8fafc}td.wrap{word-break:break-word;max-width:340px}td.ids{font-size:12px;word-break:break-all;max-width:260px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.blocked,.badge.bounced,.badge.complained,.badge.suppressed{background:var(--bad-bg);color:var(--bad)}
.badge.flagged,.badge.soft-bounced,.badge.open{background:var(--warn-bg);color:var(--warn)}
.badge.delivered,.badge.reviewed,.badge.enabled{background:var(--ok-bg);color:var(--ok)}.badge.sent,.badge.config,.badge.console{background:var(--info-bg);color:var(--brand)}
.badge.disabled{background:#e7e7e7;color:#444}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;margin-bottom:14px}
label{display:flex;flex-direction:column;font-size:13px;color:#34404f;gap:3px}
input,select,textarea{font:inherit;padding:7px 9px;border:1px solid #b8c1cc;border-radius:6px;background:#fff;color:var(--ink);min-width:0}
textarea{min-height:70px}button,.button{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:8px 14px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent)}button.danger{background:var(--bad)}
.muted{color:var(--muted)}.row{display:flex;gap:10px;flex-wrap:wrap;align-items:center}
.flash{padding:10px 14px;border-radius:8px;margin-bottom:14px}.flash.ok{background:var(--ok-bg);color:var(--ok)}.flash.error{background:var(--bad-bg);color:var(--bad)}
.secret{font:600 18px ui-monospace,monospace;background:#fff;border:2px dashed var(--accent);padding:10px;display:inline-block;user-select:all}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-word}
.pager{margin-top:12px}.chart{width:100%;height:auto}.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:13px;margin-top:8px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.meter{height:10px;background:#e9edf2;border-radius:5px;position:relative;overflow:hidden;margin-top:6px}
.meter svg{display:block;width:100%;height:10px}
progress{width:100%;height:18px}
@media print{header.top,nav.side,.noprint{display:none}.shell{display:block}main{padding:0;max-width:none}.card{border:0;padding:0}}
.login{max-width:380px;margin:10vh auto}.login form{display:grid;gap:12px}
@media (max-width:900px){.shell{grid-template-columns:1fr}nav.side{display:flex;flex-wrap:wrap;border-right:0;border-bottom:1px solid var(--line);padding:0}
nav.side a{padding:10px 12px}nav.side a[aria-current=page]{border-left:0;border-bottom:3px solid var(--accent);padding-left:12px}main{padding:16px}
table.responsive thead{display:none}table.responsive tr{display:block;border-bottom:1px solid var(--line)}table.responsive td{display:block;border:0;padding:4px 10px}
table.responsive td::before{content:attr(data-label);font-weight:600;color:var(--muted);margin-right:6px}}
${swatchCss()}
`;

export interface PageContext {
  session: AdminSession;
  nonce: string;
  /** The path shown, for the navigation's current entry. */
  current: string;
  flash?: { kind: 'ok' | 'error'; text: string };
}

export function page(title: string, ctx: PageContext, body: Html, options: { script?: string } = {}): string {
  const { session, nonce } = ctx;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${session.csrf}">
<title>${title} · Fairsend console</title><style nonce="${nonce}">${new Html(CSS)}</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">Fairsend</span><span>console</span>
<span class="who">${session.account} · ${session.role}
<form method="post" action="${BASE}/logout"><input type="hidden" name="csrf" value="${session.csrf}"><button type="submit">Log out</button></form></span></header>
<div class="shell"><nav class="side" aria-label="Console">
${NAV.map((n) => html`<a href="${BASE}${n.path}"${ctx.current === n.path ? new Html(' aria-current="page"') : ''}>${n.label}</a>`)}
</nav><main id="main"><h1>${title}</h1>
${ctx.flash ? html`<div class="flash ${ctx.flash.kind}" role="${ctx.flash.kind === 'error' ? 'alert' : 'status'}">${ctx.flash.text}</div>` : ''}
${body}</main></div>
${options.script ? html`<script nonce="${nonce}">${new Html(options.script)}</script>` : ''}
</body></html>`.value;
}

export function loginPage(nonce: string, options: { error?: string; name?: string } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Fairsend console</title><style nonce="${nonce}">${new Html(CSS)}</style></head>
<body><header class="top"><span class="brand">Fairsend</span><span>console</span></header>
<main class="login"><div class="card"><h1>Log in</h1>
${options.error ? html`<div class="flash error" role="alert">${options.error}</div>` : ''}
<form method="post" action="${BASE}/login">
<label>Account <input name="name" autocomplete="username" required value="${options.name ?? ''}" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>
<p class="muted">An admin creates accounts with <code>npm run fairsend -- admin create &lt;name&gt;</code>.</p></div></main></body></html>`
    .value;
}
