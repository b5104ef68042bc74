/*
 * The dashboard's own script and style, kept as text in the build (tsc copies no other files into dist/):
 * served from /assets with htmx and chart.js, which come from node_modules. This file is their only copy.
 */
export const APP_JS = `// The dashboard's only script besides htmx and chart.js: the overview chart and the live block rows.
(function () {
  'use strict';
  function chart() {
    var el = document.getElementById('blocks-chart');
    if (!el || !window.Chart) return;
    var d = JSON.parse(el.getAttribute('data-chart'));
    new window.Chart(el, {
      type: 'bar',
      data: {
        labels: d.labels,
        datasets: [
          { label: 'outbound', data: d.outbound, backgroundColor: '#d9480f' },
          { label: 'inbound', data: d.inbound, backgroundColor: '#1864ab' },
        ],
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  }
  function live() {
    var body = document.getElementById('blocks-body');
    if (!body || !body.getAttribute('data-live') || !window.EventSource) return;
    var note = document.getElementById('live-note');
    var es = new EventSource(body.getAttribute('data-live'));
    es.addEventListener('block', function (ev) {
      var t = document.createElement('tbody');
      t.innerHTML = ev.data;
      var rows = Array.prototype.slice.call(t.children).reverse();
      rows.forEach(function (row) {
        var old = body.querySelector('tr[data-key="' + CSS.escape(row.getAttribute('data-key')) + '"]');
        if (old) old.remove();
        body.insertBefore(row, body.firstChild);
        if (window.htmx) window.htmx.process(row);
      });
      var empty = document.getElementById('empty');
      if (empty) empty.remove();
      while (body.children.length > 200) body.lastElementChild.remove();
    });
    es.addEventListener('missed', function (ev) {
      if (note) note.textContent = ev.data + ' block events were skipped while this page was busy: reload for the full list.';
    });
    es.addEventListener('open', function () { if (note) note.setAttribute('data-connected', '1'); });
  }
  document.addEventListener('DOMContentLoaded', function () { chart(); live(); });
})();
`;

export const APP_CSS = `:root { --fg: #1b1f24; --muted: #6a737d; --line: #e1e4e8; --bg: #f6f8fa; --accent: #0b5cad; --bad: #b42318; --good: #1a7f37; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); font-size: 15px; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
header nav { display: flex; flex-wrap: wrap; gap: .25rem; flex: 1; }
header nav a { padding: .35rem .6rem; border-radius: 6px; color: var(--fg); text-decoration: none; }
header nav a.on { background: var(--accent); color: #fff; }
.logout { margin: 0; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; } h2 { font-size: 1.1rem; } h3 { font-size: .95rem; margin-bottom: .3rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin-bottom: 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
.grid .card { margin: 0; } .wide { grid-column: 1 / -1; }
.chart { position: relative; height: 240px; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .2rem; }
input, select, button { font: inherit; padding: .4rem .55rem; border: 1px solid #c9ced4; border-radius: 6px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #eef2f6; } button.danger { color: var(--bad); border-color: #f1b5ae; }
.login { max-width: 340px; margin: 10vh auto; display: flex; flex-direction: column; gap: .8rem; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; }
tr.live { animation: flash 2s ease-out; } @keyframes flash { from { background: #fff3bf; } to { background: #fff; } }
.mono { font-family: ui-monospace, monospace; font-size: .9em; } .muted { color: var(--muted); }
.tag { display: inline-block; font-size: .75rem; padding: 0 .35rem; border-radius: 4px; background: #eef2f6; }
.dir.outbound { color: #d9480f; font-weight: 600; } .dir.inbound { color: #1864ab; font-weight: 600; }
.reason { font-weight: 600; } .domain { font-size: .85rem; }
.actions { display: flex; flex-wrap: wrap; gap: .3rem; } .actions button { padding: .25rem .5rem; font-size: .85rem; }
.error { color: var(--bad); } .ok { color: var(--good); }
.verdict.listed { color: var(--bad); } .verdict.allowed { color: var(--good); }
dl.kv { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; } dl.kv dd { margin: 0; }
/* A phone: table rows become cards, each cell labelled. */
@media (max-width: 640px) {
  main { padding: .5rem; }
  header nav { order: 3; flex-basis: 100%; justify-content: space-between; }
  table.blocks thead { display: none; }
  table.blocks tr { display: block; border-bottom: 2px solid var(--line); padding: .3rem 0; }
  table.blocks td { display: flex; gap: .6rem; border: 0; padding: .2rem .4rem; }
  table.blocks td[data-label]::before { content: attr(data-label); min-width: 6.5rem; color: var(--muted); font-size: .8rem; }
}
`;
