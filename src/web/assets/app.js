// The dashboard's only script besides htmx and chart.js: the overview chart and the live block rows.
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
