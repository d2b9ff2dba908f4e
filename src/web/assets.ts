/**
 * The web list's static files, served by the bot itself: no front-end build, and nothing
 * inline, so the Content-Security-Policy can stay at 'self'.
 */

/** A tick in a rounded square, in GitLab's purple. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#6b4fbb"/><path d="M9 16.5l4.5 4.5L23 11.5" fill="none" stroke="#fff" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

/**
 * Localizes times to the viewer's zone, and keeps an open list current: it asks for the
 * newest change every few seconds and, when there is one, fetches the page again and swaps
 * the lists in. Not while someone types a comment or reason, so nothing typed is lost, and
 * not while the tab is hidden.
 * Without scripts the page is the same, and a reload brings it up to date.
 */
export const SCRIPT = `'use strict';
(function () {
  var formats = {};
  function format(precise) {
    var key = precise ? 'precise' : 'short';
    if (!formats[key]) {
      var options = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
      if (precise) options.second = '2-digit';
      formats[key] = new Intl.DateTimeFormat(undefined, options);
    }
    return formats[key];
  }
  function localize(root) {
    var times = root.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i += 1) {
      var t = times[i];
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      t.title = t.textContent;
      t.textContent = format(t.classList.contains('precise')).format(d);
    }
  }
  function typing(root) {
    var fields = root.querySelectorAll('input[name="reason"]');
    for (var i = 0; i < fields.length; i += 1) {
      if (fields[i].value !== '' || fields[i] === document.activeElement) return true;
    }
    return false;
  }
  function start() {
    localize(document);
    var live = document.getElementById('live');
    if (!live || !live.dataset.changes || !window.fetch) return;
    var busy = false;
    function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      // A sign-in redirect is not followed: the list simply stops changing until a reload.
      fetch(live.dataset.changes, { headers: { accept: 'application/json' }, cache: 'no-store', redirect: 'manual' })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (body) {
          if (!body || body.mark === live.dataset.mark || typing(live)) return null;
          return fetch(location.href, { cache: 'no-store', redirect: 'manual' }).then(function (res) { return res.ok ? res.text() : null; });
        })
        .then(function (text) {
          if (!text) return;
          var page = new DOMParser().parseFromString(text, 'text/html');
          var fresh = page.getElementById('live');
          if (!fresh || typing(live)) return;
          live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
          live.dataset.mark = fresh.dataset.mark;
          document.title = page.title;
          localize(live);
        })
        .catch(function () { /* the bot is away for a moment: ask again at the next tick */ })
        .then(function () { busy = false; });
    }
    setInterval(refresh, 2000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;

export const STYLE = `
:root{--ink:#1f1f24;--muted:#5f6170;--line:#e3e3ea;--bg:#f5f5f8;--panel:#fff;--brand:#6b4fbb;--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--wait:#9a6700;--wait-bg:#fff8c5}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:var(--bg)}
a{color:#4b35a0} code{font:13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0eff5;padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
header.top{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap;background:var(--panel);border-bottom:1px solid var(--line);padding:.6rem 1.5rem}
.brand{display:flex;align-items:center;gap:.5rem;font-weight:650;font-size:1.05rem;color:var(--ink);text-decoration:none}
header.top .who{color:var(--muted);display:flex;align-items:center;gap:.5rem;flex-wrap:wrap;margin:0} header.top .who form{margin:0}
main{max-width:1200px;margin:0 auto;padding:1.25rem 1.5rem 2rem}
h1{font-size:1.35rem;margin:.2rem 0 .8rem} h2{font-size:1.1rem;margin:1.5rem 0 .6rem;display:flex;align-items:center;gap:.5rem}
.count{font-size:.8rem;font-weight:600;background:#e8e5f5;color:#4b35a0;border-radius:999px;padding:.05rem .55rem}
form.search{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
form.search input[type=search]{flex:1 1 16rem;min-width:0}
input,select,button{font:inherit}
input,select{border:1px solid #c9c9d4;border-radius:6px;padding:.4rem .55rem;background:#fff;color:var(--ink)}
button{border:1px solid #c9c9d4;border-radius:6px;padding:.4rem .9rem;background:#fff;color:var(--ink);cursor:pointer;font-weight:600}
button.approve{background:var(--ok);border-color:var(--ok);color:#fff} button.reject{background:#fff;border-color:var(--bad);color:var(--bad)}
button.emergency{background:#9a6700;border-color:#9a6700;color:#fff} .freeze{color:#0550ae;margin:0 0 .25rem}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #b7a6ee;outline-offset:1px}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:var(--panel);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{padding:.65rem .75rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{font-size:.78rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:#fafafc}
tbody tr:last-child td{border-bottom:0}
th.mr{width:29%} th.code{width:21%} th.state{width:15%} th.when{width:12%} th.actions{width:23%}
table.events th.when{width:15rem} table.events th.actor{width:12rem} table.events th.code{width:7rem}
td.mr .project{color:var(--muted);text-decoration:none} td.mr .iid{font-weight:650} td.mr .title{display:block;font-weight:550;margin-top:.15rem;overflow-wrap:anywhere}
.draft{font-size:.75rem;font-weight:600;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 .3rem}
td.code .sha{display:inline-block;margin-left:.25rem} .rule{display:block;color:var(--muted);font-size:.85rem;margin-top:.25rem}
.badge{display:inline-block;font-size:.8rem;font-weight:650;border-radius:999px;padding:.1rem .6rem;background:#eee;color:var(--muted)}
.badge.pending{background:var(--wait-bg);color:var(--wait)} .badge.approved{background:var(--ok-bg);color:var(--ok)}
.badge.rejected,.badge.stale{background:var(--bad-bg);color:var(--bad)}
td.state .detail,td.state .by,p.state .detail,p.state .by,td.what .detail{display:block;color:var(--muted);font-size:.85rem;margin-top:.2rem}
q{display:block;font-style:italic;margin-top:.2rem;overflow-wrap:anywhere}
td.when{color:var(--muted);font-size:.88rem} table.checks td.when time{display:block}
td.actions form,section.summary form{display:flex;gap:.4rem;margin:0 0 .4rem}
td.actions input[name=reason],section.summary input[name=reason]{flex:1;min-width:0}
a.history{font-size:.88rem}
.pager{display:flex;justify-content:space-between;gap:1rem;margin:.6rem 0} .pager a[rel=next]{margin-left:auto;font-weight:600}
.empty{background:var(--panel);border:1px dashed #c9c9d4;border-radius:10px;padding:1rem;color:var(--muted)}
.notice{background:var(--ok-bg);border-radius:8px;padding:.6rem .8rem} .error{background:var(--bad-bg);border-radius:8px;padding:.6rem .8rem}
.hint{color:var(--muted);font-size:.88rem;margin-top:1.5rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
section.summary{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem}
section.summary h1{overflow-wrap:anywhere} section.summary h1 a{text-decoration:none}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.8rem 0} dt{color:var(--muted)} dd{margin:0;overflow-wrap:anywhere}
.export{margin-top:.8rem}
main.message{max-width:34rem;margin:3rem auto;background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:1.5rem 1.75rem}
a.sign-in{display:inline-block;background:var(--brand);color:#fff;padding:.55rem 1rem;border-radius:6px;text-decoration:none;font-weight:600}
@media (max-width: 760px){
  header.top{padding:.6rem 1rem} main{padding:1rem .75rem 2rem}
  table,thead,tbody,tr,td{display:block;width:100%} table{background:none;border:0;border-radius:0}
  thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  tbody tr{background:var(--panel);border:1px solid var(--line);border-radius:10px;margin-bottom:.75rem;padding:.35rem 0}
  tbody tr.pending{border-left:4px solid #d4a72c}
  td{border:0;padding:.3rem .9rem} table.checks td.when time{display:inline} td.actions{min-width:0;padding-top:.5rem}
  td.actions form{flex-wrap:wrap}
  table.events td.when{font-weight:600;color:var(--ink)} table.events td.code:empty,table.events td.actor:empty{display:none}
  form.search select{flex:1 1 10rem;min-width:0} form.search button{flex:0 0 auto}
  td.actions input[name=reason]{flex:1 1 11rem} td.actions button{flex:1 0 6.5rem;padding:.6rem}
  th.mr,th.code,th.state,th.when,th.actions{width:auto}
  main.message{margin:1rem .75rem;padding:1.25rem}
  dl{grid-template-columns:1fr} dt{margin-top:.3rem}
}
`;
