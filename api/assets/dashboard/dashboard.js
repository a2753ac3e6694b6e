// The dashboard's logic: read the key, fetch /v1/analytics/{summary,timeline,live}, draw.
// window.VaartaDashboard exposes what was drawn (for tests and debugging).
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var state = { loaded: false, error: null, summary: null, timeline: null, live: null, charts: 0 };
  window.VaartaDashboard = state;
  var charts = {};
  var params = new URLSearchParams(location.search);
  $('token').value = sessionStorage.getItem('vaarta.token') || '';
  $('site').value = params.get('site_id') || sessionStorage.getItem('vaarta.site') || '';

  function api(path) {
    return fetch(path, { headers: { Authorization: 'Bearer ' + $('token').value.trim() } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body && body.error && body.error.message) || ('HTTP ' + r.status));
        return body;
      });
    });
  }

  function fmt(v, unit) {
    if (v === null || v === undefined) return '—';
    if (unit === '%') return (v * 100).toFixed(1) + '%';
    if (unit === 'ms') return v >= 10000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms';
    return String(v);
  }

  function kpis(s) {
    var cards = [
      ['Calls', s.total_calls, s.answered_calls + ' answered'],
      ['AI handled', s.ai_handled_calls, s.total_calls ? fmt(s.ai_handled_calls / s.total_calls, '%') + ' of calls' : ''],
      ['Transferred', s.transferred_calls, s.transfer_failed_calls + ' transfers failed'],
      ['Drop rate', fmt(s.drop_rate, '%'), s.dropped_calls + ' dropped (' + s.drops.during_holding + ' holding, ' + s.drops.within_first_seconds + ' early, ' + s.drops.before_resolution + ' unresolved)'],
      ['Holding rate', fmt(s.holding_rate, '%'), s.holding_calls + ' calls heard a holding message'],
      ['Response p50', fmt(s.p50_response_ms, 'ms'), 'p90 ' + fmt(s.p90_response_ms, 'ms') + ', avg ' + fmt(s.avg_response_ms, 'ms')],
      ['Duration p50', fmt(s.p50_duration_ms, 'ms'), 'p90 ' + fmt(s.p90_duration_ms, 'ms') + ', avg ' + fmt(s.avg_duration_ms, 'ms')],
      ['Concurrency', s.current_concurrent_calls, 'now; peak ' + s.peak_concurrent_calls]
    ];
    $('kpis').innerHTML = '';
    cards.forEach(function (c) {
      var d = document.createElement('div');
      d.className = 'kpi';
      d.innerHTML = '<div class="label"></div><div class="value"></div><div class="sub"></div>';
      d.children[0].textContent = c[0];
      d.children[1].textContent = c[1];
      d.children[2].textContent = c[2];
      $('kpis').appendChild(d);
    });
  }

  function rows(id, list) {
    var body = $(id).tBodies[0] || $(id).createTBody();
    body.innerHTML = '';
    if (!list.length) { body.innerHTML = '<tr><td class="muted">none</td></tr>'; return; }
    list.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (c) {
        var td = document.createElement('td');
        if (c instanceof Node) td.appendChild(c); else td.textContent = c;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function bar(fraction) {
    var outer = document.createElement('div');
    outer.style.width = '120px';
    var b = document.createElement('div');
    b.className = 'bar';
    b.style.width = Math.max(2, Math.round(fraction * 120)) + 'px';
    outer.appendChild(b);
    return outer;
  }

  function chart(id, series, data) {
    var el = $(id);
    if (charts[id]) { charts[id].destroy(); }
    el.innerHTML = '';
    var opts = {
      width: Math.max(320, el.clientWidth - 4), height: 220,
      series: [{}].concat(series.map(function (s) { return { label: s[0], stroke: s[1], width: 2, spanGaps: true }; })),
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } }
    };
    charts[id] = new uPlot(opts, data, el);
    state.charts = Object.keys(charts).length;
  }

  function draw(summary, timeline, live) {
    state.summary = summary; state.timeline = timeline; state.live = live;
    kpis(summary);
    var b = timeline.buckets;
    var xs = b.map(function (x) { return Date.parse(x.start) / 1000; });
    var col = function (f) { return b.map(f); };
    Array.prototype.forEach.call(document.querySelectorAll('.interval'), function (e) { e.textContent = timeline.interval; });
    chart('chart-calls', [['calls', '#2563eb'], ['AI handled', '#10b981'], ['transferred', '#f59e0b'], ['dropped', '#ef4444']],
      [xs, col(function (x) { return x.total_calls; }), col(function (x) { return x.ai_handled_calls; }),
        col(function (x) { return x.transferred_calls; }), col(function (x) { return x.dropped_calls; })]);
    chart('chart-response', [['p50', '#2563eb'], ['p90', '#7c3aed']],
      [xs, col(function (x) { return x.p50_response_ms; }), col(function (x) { return x.p90_response_ms; })]);
    chart('chart-concurrency', [['peak', '#0ea5e9']], [xs, col(function (x) { return x.peak_concurrent_calls; })]);
    var maxCalls = Math.max.apply(null, [1].concat(summary.languages.map(function (l) { return l.calls; })));
    rows('languages', summary.languages.map(function (l) { return [l.language, l.calls + ' calls', l.turns + ' turns', bar(l.calls / maxCalls)]; }));
    rows('outcomes', Object.keys(summary.outcomes).filter(function (k) { return summary.outcomes[k] > 0; })
      .map(function (k) { return [k.replace(/_/g, ' '), summary.outcomes[k]]; }));
    showLive(live);
  }

  function showLive(live) {
    state.live = live;
    rows('live', live.sites.map(function (s) {
      return [s.site_id.slice(0, 8) + '…', s.current_calls + ' now', 'phone ' + s.by_channel.sip + ' · widget ' + s.by_channel.widget,
        'holding ' + s.by_state.holding];
    }));
  }

  function query() {
    var to = new Date();
    var hours = Number($('range').value);
    var from = new Date(to.getTime() - hours * 3600 * 1000);
    var q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    if ($('site').value.trim()) q.set('site_id', $('site').value.trim());
    if ($('channel').value) q.set('channel', $('channel').value);
    return q;
  }

  function load() {
    sessionStorage.setItem('vaarta.token', $('token').value.trim());
    sessionStorage.setItem('vaarta.site', $('site').value.trim());
    if (!$('token').value.trim()) { $('status').textContent = 'Enter an admin token or a site key.'; return; }
    $('status').textContent = 'Loading…';
    var q = query();
    var t = new URLSearchParams(q);
    t.set('interval', Number($('range').value) <= 48 ? 'hour' : 'day');
    var l = new URLSearchParams();
    if (q.get('site_id')) l.set('site_id', q.get('site_id'));
    Promise.all([api('/v1/analytics/summary?' + q), api('/v1/analytics/timeline?' + t), api('/v1/analytics/live?' + l)])
      .then(function (r) { draw(r[0], r[1], r[2]); state.loaded = true; state.error = null; $('status').textContent = ''; })
      .catch(function (e) { state.error = e.message; $('status').textContent = 'Could not load: ' + e.message; });
  }

  $('controls').addEventListener('submit', function (e) { e.preventDefault(); load(); });
  setInterval(function () {
    if (!state.loaded) return;
    var l = new URLSearchParams();
    if ($('site').value.trim()) l.set('site_id', $('site').value.trim());
    api('/v1/analytics/live?' + l).then(showLive).catch(function () {});
  }, 5000);
  if ($('token').value) load();
})();
