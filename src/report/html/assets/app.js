// vaat's page renderer (runs in the browser). Reads the page's JSON from
// #vaat-data and builds the page with DOM calls: text goes in through
// textContent only, and chart tooltips escape what they show, so strings
// from crashed kernels stay text.
(function () {
  'use strict';
  var dataEl = document.getElementById('vaat-data');
  var KIND = dataEl.getAttribute('data-kind');
  var D = JSON.parse(dataEl.textContent);
  var FAM_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    }).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\u2400');
  }
  // Control characters shown as a visible placeholder in text too.
  function clean(s) {
    return String(s == null ? '' : s).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\u2400');
  }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = clean(attrs[k]);
      else if (k === 'cls') e.className = attrs[k];
      else if (k === 'onclick') e.addEventListener('click', attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x != null) e.appendChild(typeof x === 'string' ? document.createTextNode(clean(x)) : x); });
      else e.appendChild(typeof c === 'string' ? document.createTextNode(clean(c)) : c);
    }
    return e;
  }
  function section(id, title, about) {
    var s = el('section', { id: id }, el('h2', { text: title }), about ? el('p', { cls: 'about', text: about }) : null);
    document.body.appendChild(s);
    return s;
  }
  function table(head, rows, opts) {
    var t = el('table', opts && opts.cls ? { cls: opts.cls } : null);
    if (head) t.appendChild(el('thead', null, el('tr', null, head.map(function (h) { return el('th', { text: h }); }))));
    var tb = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr', r.attrs || null);
      (r.cells || r).forEach(function (c) { tr.appendChild(c instanceof Node ? el('td', null, c) : el('td', { text: c == null ? '-' : c })); });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    return t;
  }
  function chart(parent, height, option) {
    var box = el('div', { cls: 'chart', style: 'height:' + height + 'px' });
    parent.appendChild(box);
    var c = echarts.init(box, null, { renderer: 'canvas' });
    c.setOption(option);
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  // Sections after the first are built in later tasks, so the browser paints the
  // overview before the heavy parts (a 10,000-point map, long tables) are built.
  var queue = [];
  function later(fn) { queue.push(fn); }
  function drain(done) {
    if (!queue.length) { done(); return; }
    var fn = queue.shift();
    setTimeout(function () {
      try { fn(); } catch (e) { fail(e); return; }
      drain(done);
    }, 0);
  }
  function fail(e) {
    document.body.appendChild(el('pre', { cls: 'err', text: 'page failed: ' + (e && e.message) }));
    setTimeout(function () { throw e; });
  }
  function f3(x) { return x == null ? '-' : Number(x).toFixed(3); }
  function kv(pairs) {
    return table(null, pairs.filter(function (p) { return p[1] != null && p[1] !== ''; }).map(function (p) { return [p[0], String(p[1])]; }), { cls: 'kv' });
  }

  // ---------------------------------------------------------------- similarity
  function similarity() {
    var o = D.overview;
    document.body.appendChild(el('h1', { text: 'vaat similarity report' }));
    document.body.appendChild(el('p', { cls: 'about', text: D.source + ' — generated ' + D.generatedAt }));
    var sigById = {};
    D.signatures.forEach(function (s) { sigById[s.id] = s; });
    var clusterById = {};
    D.clusters.forEach(function (c) { clusterById[c.id] = c; });
    var detailById = {};
    D.details.forEach(function (d) { detailById[d.id] = d; });
    var pairByKey = {};
    D.pairs.forEach(function (p) { pairByKey[Math.min(p.a, p.b) + ':' + Math.max(p.a, p.b)] = p; });

    var ov = section('overview', 'Overview', null);
    var cards = el('div', { cls: 'cards' });
    [['signatures', o.signatures], ['vmcores', o.vmcores], ['console logs', o.logs], ['known issues', o.issues], ['clusters', o.clusters],
      ['duplicates found', o.decisions.duplicate || 0], ['new issues', o.decisions['new'] || 0], ['uncertain, awaiting a person', o.pending], ['failed inputs', o.decisions.failed || 0]]
      .forEach(function (c) { cards.appendChild(el('div', { cls: 'card' }, el('div', { cls: 'num', text: String(c[1]) }), el('div', { text: c[0] }))); });
    ov.appendChild(cards);
    var row = el('div', { cls: 'row' });
    ov.appendChild(row);
    var left = el('div', { cls: 'half' }), right = el('div', { cls: 'half' });
    row.appendChild(left); row.appendChild(right);
    var kern = o.perKernel.slice(0, 20);
    chart(left, 260, {
      title: { text: 'signatures per kernel', textStyle: { fontSize: 13 } }, grid: { left: 160, right: 20, top: 30, bottom: 20 },
      tooltip: { trigger: 'axis', formatter: function (p) { return esc(p[0].name) + ': ' + p[0].value; } },
      xAxis: { type: 'value' }, yAxis: { type: 'category', inverse: true, data: kern.map(function (k) { return k.release; }), axisLabel: { width: 150, overflow: 'truncate' } },
      series: [{ type: 'bar', data: kern.map(function (k) { return k.count; }), itemStyle: { color: '#4e79a7' } }],
    });
    chart(right, 260, {
      title: { text: 'signatures per day ingested', textStyle: { fontSize: 13 } }, grid: { left: 50, right: 20, top: 30, bottom: 40 },
      tooltip: { trigger: 'axis', formatter: function (p) { return esc(p[0].name) + ': ' + p[0].value; } },
      xAxis: { type: 'category', data: o.perDay.map(function (d) { return d.day; }) }, yAxis: { type: 'value' },
      series: [{ type: 'bar', data: o.perDay.map(function (d) { return d.count; }), itemStyle: { color: '#59a14f' } }],
    });

    later(function () { mapSection(); });
    later(function () { clustersSection(); });
    later(function () { detailSection(); });
    later(function () { diffSection(); });
    later(function () { baselineSection(); });
    var showDiff = function () {}, showCluster = function () {};

    function mapSection() {
    // The cluster map.
    var map = section('map', 'Cluster map', (D.layout === 'umap' ? 'UMAP (seeded) over the engine\'s exactly scored ' + D.clustering.k + '-nearest-neighbour graph' : 'too few signatures for UMAP: clusters placed on a circle') +
      '. One point per signature, coloured by cluster; hover for its title and input; click two points to compare them below.');
    var colorOf = function (cid) { return FAM_COLORS[Math.abs(cid) % FAM_COLORS.length]; };
    var mapChart = chart(map, 520, {
      animation: false,
      tooltip: { trigger: 'item', formatter: function (p) {
        var s = sigById[p.value[2]];
        if (!s) return '';
        return '<b>' + esc(s.title || '(no title)') + '</b><br>' + esc(s.name) + ' (' + esc(s.kind) + ', ' + esc(s.release || '?') + ')<br>cluster ' + s.cluster + (s.issue != null ? ', issue #' + s.issue : '');
      } },
      xAxis: { type: 'value', scale: true, show: false }, yAxis: { type: 'value', scale: true, show: false }, grid: { left: 10, right: 10, top: 10, bottom: 10 },
      series: [{ type: 'scatter', symbolSize: D.points.length > 3000 ? 4 : 8, large: D.points.length > 3000, largeThreshold: 3000, data: D.points,
        itemStyle: { color: function (p) { var s = sigById[p.value[2]]; return colorOf(s ? s.cluster : 0); } } }],
    });
    map.setAttribute('data-points', String(D.points.length));
    var picked = [];
    mapChart.on('click', function (p) {
      picked.push(p.value[2]);
      if (picked.length > 2) picked.shift();
      if (picked.length === 2) showDiff(picked[0], picked[1]);
    });
    }

    function clustersSection() {
    // Clusters table.
    var ct = section('clusters', 'Clusters and known issues', 'Average linkage over the kNN graph, cut at ' + D.clustering.threshold + '. Tight: mean similarity inside. Nearest: the closest other cluster and the families that separate their representatives. Click a row for its detail.');
    var rows = D.clusters.slice(0, 1000).map(function (c) {
      return { attrs: { 'data-cluster': String(c.id), cls: detailById[c.id] ? 'clickable' : '' }, cells: [String(c.id), String(c.size), c.title || '-', c.issues.slice(0, 3).map(function (i) { return '#' + i.issue + (c.issues.length > 1 ? ' (' + i.members + ')' : ''); }).join(' '),
        c.kernels.slice(0, 3).join(', ') + (c.kernels.length > 3 ? ' … +' + (c.kernels.length - 3) : ''), c.firstSeen.slice(0, 16), c.lastSeen.slice(0, 16), f3(c.tightness),
        c.nearest ? c.nearest.cluster + ' at ' + f3(c.nearest.similarity) + ' (' + (c.nearest.separatedBy.join(', ') || '-') + ')' : '-'] };
    });
    var tbl = table(['cluster', 'size', 'representative title', 'known issues', 'kernels', 'first seen', 'last seen', 'tight', 'nearest (separated by)'], rows, { cls: 'clusters' });
    tbl.addEventListener('click', function (ev) {
      var tr = ev.target.closest('tr[data-cluster]');
      if (tr && detailById[Number(tr.getAttribute('data-cluster'))]) showCluster(Number(tr.getAttribute('data-cluster')));
    });
    ct.appendChild(el('div', { cls: 'scroll' }, tbl));
    if (D.clusters.length > 1000) ct.appendChild(el('p', { cls: 'about', text: (D.clusters.length - 1000) + ' more clusters in the JSON.' }));
    }

    function detailSection() {
    // Cluster detail.
    var det = section('cluster', 'Cluster detail', null);
    var detBody = el('div');
    det.appendChild(detBody);
    var charts = [];
    showCluster = function (id) {
      charts.forEach(function (c) { c.dispose(); });
      charts = [];
      detBody.textContent = '';
      var c = clusterById[id], d = detailById[id];
      if (!c || !d) { detBody.appendChild(el('p', { text: 'No cluster with more than one signature.' })); return; }
      detBody.setAttribute('data-cluster', String(id));
      detBody.appendChild(el('h3', { text: 'Cluster ' + id + ': ' + (c.title || '(no title)') + ' — ' + c.size + ' signatures' }));
      var r2 = el('div', { cls: 'row' });
      detBody.appendChild(r2);
      var a = el('div', { cls: 'half' }), b = el('div', { cls: 'half' });
      r2.appendChild(a); r2.appendChild(b);
      a.appendChild(el('h4', { text: 'members' }));
      a.appendChild(el('div', { cls: 'scroll short' }, table(['signature', 'input', 'kind', 'kernel', 'issue'], d.members.map(function (m) {
        var s = sigById[m] || {};
        return [String(m), s.name, s.kind, s.release, s.issue != null ? '#' + s.issue : '-'];
      }))));
      a.appendChild(el('h4', { text: 'representative\'s stack (normalized, innermost first)' }));
      a.appendChild(el('ol', { cls: 'stack' }, d.stack.map(function (f) { return el('li', { text: f }); })));
      b.appendChild(el('h4', { text: 'which families agree inside the cluster (pairs × families, engine scores)' }));
      if (d.agreement.pairs.length) {
        var cells = [];
        d.agreement.scores.forEach(function (row, i) { row.forEach(function (v, j) { cells.push([i, j, v == null ? '-' : v]); }); });
        charts.push(chart(b, 60 + 24 * D.families.length, {
          animation: false, grid: { left: 80, right: 20, top: 10, bottom: 30 },
          tooltip: { formatter: function (p) { var pr = d.agreement.pairs[p.value[0]]; return esc(D.families[p.value[1]]) + ' ' + esc(pr[0]) + '↔' + esc(pr[1]) + ': ' + esc(p.value[2]); } },
          xAxis: { type: 'category', data: d.agreement.pairs.map(function (p) { return p[0] + '↔' + p[1]; }), axisLabel: { show: false } },
          yAxis: { type: 'category', data: D.families.slice() },
          visualMap: { min: 0, max: 1, show: false, inRange: { color: ['#d73027', '#fee08b', '#1a9850'] } },
          series: [{ type: 'heatmap', data: cells.filter(function (x) { return x[2] !== '-'; }) }],
        }));
      } else b.appendChild(el('p', { text: 'no scored pairs inside' }));
      b.appendChild(el('h4', { text: 'lock chain of the representative (holder ← lock ← waiters)' }));
      if (d.lockChain) {
        var nodes = d.lockChain.nodes.map(function (n, i) {
          return { id: n.id, name: n.id, value: n.label, symbolSize: n.kind === 'lock' ? 34 : 22, category: n.kind === 'holder' ? 0 : n.kind === 'lock' ? 1 : 2,
            x: n.kind === 'holder' ? 500 : n.kind === 'lock' ? 300 : 80, y: 40 + i * 40, label: { show: true, formatter: function (p) { return p.data.value; } } };
        });
        charts.push(chart(b, Math.max(160, 40 + 40 * nodes.length), {
          animation: false, tooltip: { formatter: function (p) { return p.dataType === 'edge' ? esc(p.data.label.formatter) : esc(p.data.value); } },
          legend: { data: ['holder', 'lock', 'waiter'] },
          series: [{ type: 'graph', layout: 'none', roam: true, categories: [{ name: 'holder' }, { name: 'lock' }, { name: 'waiter' }], data: nodes,
            edgeSymbol: ['none', 'arrow'], edgeLabel: { show: true, fontSize: 10 },
            links: d.lockChain.links.map(function (l) { return { source: l.from, target: l.to, label: { show: true, formatter: l.label } }; }) }],
        }));
      } else b.appendChild(el('p', { text: 'no lock with waiters (console logs carry no lock state)' }));
    };
    if (D.details.length) showCluster(D.details[0].id);
    else detBody.appendChild(el('p', { text: 'Every cluster holds one signature.' }));
    }

    function diffSection() {
    // Side-by-side diff.
    var df = section('diff', 'Compare two signatures', 'Pick any two (or click two points on the map). Per-family scores come from the engine where it scored the pair (neighbours, and each cluster\'s representative with its nearest cluster\'s).');
    // The picker's list is filled when first used (10,000 options cost time on load).
    var lst = el('datalist', { id: 'sigs' });
    var filled = false;
    var fill = function () {
      if (filled) return;
      filled = true;
      D.signatures.slice(0, 20000).forEach(function (s) { lst.appendChild(el('option', { value: s.id + ' ' + s.name, text: s.title || '' })); });
    };
    var inA = el('input', { list: 'sigs', placeholder: 'signature id or name', id: 'diff-a' }), inB = el('input', { list: 'sigs', placeholder: 'signature id or name', id: 'diff-b' });
    var go = el('button', { text: 'compare' });
    inA.addEventListener('focus', fill);
    inB.addEventListener('focus', fill);
    df.appendChild(lst);
    df.appendChild(el('div', { cls: 'pick' }, inA, inB, go));
    var diffBody = el('div', { id: 'diff-body' });
    df.appendChild(diffBody);
    var diffChart = null;
    function idOf(v) { var m = /^\s*(\d+)/.exec(v); return m ? Number(m[1]) : null; }
    go.addEventListener('click', function () { var a = idOf(inA.value), b = idOf(inB.value); if (a != null && b != null) showDiff(a, b); });
    showDiff = function (a, b) {
      var A = sigById[a], B = sigById[b];
      if (diffChart) { diffChart.dispose(); diffChart = null; }
      diffBody.textContent = '';
      if (!A || !B) { diffBody.appendChild(el('p', { text: 'unknown signature' })); return; }
      inA.value = A.id + ' ' + A.name; inB.value = B.id + ' ' + B.name;
      var fields = [['input', 'name'], ['kind', 'kind'], ['kernel', 'release'], ['title', 'title'], ['crash kind', 'crashKind'], ['known issue', 'issue'], ['cluster', 'cluster'], ['ingested', 'ingestedAt'], ['runqueue', 'runqueue'], ['taint', 'taint'], ['cpu', 'cpu']];
      var rows = fields.map(function (f) {
        var x = A[f[1]], y = B[f[1]];
        return { attrs: { cls: String(x) === String(y) ? 'same' : 'differs' }, cells: [f[0], x == null ? '-' : String(x), y == null ? '-' : String(y)] };
      });
      var list = function (xs) { return el('ol', { cls: 'stack' }, (xs || []).map(function (f) { return el('li', { text: f }); })); };
      rows.push({ cells: ['stack', list(A.frames), list(B.frames)] });
      rows.push({ cells: ['locks', list(A.locks), list(B.locks)] });
      rows.push({ cells: ['cgroups', list(A.cgroup), list(B.cgroup)] });
      diffBody.appendChild(table(['', 'signature ' + A.id, 'signature ' + B.id], rows, { cls: 'diff' }));
      var p = pairByKey[Math.min(a, b) + ':' + Math.max(a, b)];
      if (p) {
        diffBody.appendChild(el('h4', { text: 'engine score ' + f3(p.total) }));
        var fams = D.families.filter(function (f, i) { return p.families[i] != null; });
        diffChart = chart(diffBody, 40 + 28 * fams.length, {
          animation: false, grid: { left: 90, right: 30, top: 10, bottom: 20 }, xAxis: { type: 'value', min: 0, max: 1 }, yAxis: { type: 'category', data: fams },
          tooltip: { formatter: function (q) { return esc(q.name) + ': ' + f3(q.value); } },
          series: [{ type: 'bar', data: fams.map(function (f) { return p.families[D.families.indexOf(f)]; }), itemStyle: { color: '#76b7b2' } }],
        });
        diffBody.appendChild(el('ul', null, p.reasons.map(function (r) { return el('li', { text: r }); })));
      } else diffBody.appendChild(el('p', { cls: 'about', text: 'The engine did not score this pair for the report (not neighbours); vaat match or vaat issue show gives its scores.' }));
    };
    if (D.pairs.length) showDiff(D.pairs[0].a, D.pairs[0].b);
    }

    function baselineSection() {
    // Baselines.
    var bl = section('baselines', 'How other keys would have bucketed the same inputs', 'Against the store\'s known issues: spray = share of known issues (2+ signatures) split over several buckets; bugs = share of buckets (2+ signatures) mixing known issues.');
    bl.appendChild(table(['bucketing', 'buckets', 'bucket spray', 'bucket bugs', 'what it is'], D.baselines.map(function (b) { return [b.name, String(b.buckets), f3(b.spray), f3(b.bugs), b.about]; })));
    }
  }

  // ---------------------------------------------------------------- one dump
  function sectionData(name) {
    var s = (D.sections || []).filter(function (x) { return x.name === name; })[0];
    return s ? s.data : null;
  }
  function dump() {
    document.body.appendChild(el('h1', { text: D.dump }));
    document.body.appendChild(el('p', { cls: 'about', text: (D.kernel || '') + ' — ' + (D.panic || 'no panic message') + ' — read in ' + Number(D.seconds).toFixed(2) + ' s, ' + D.problems + ' problems' }));
    if (D.error) { section('error', 'Unreadable', D.error); return; }
    var sys = sectionData('sys') || {};
    var s1 = section('sys', 'System', null);
    var obj = function (x, k) { return x && typeof x === 'object' ? x[k] : x; };
    s1.appendChild(kv([['kernel', sys.release], ['version', sys.version], ['machine', sys.machine], ['node', sys.nodename], ['CPUs', obj(sys.cpus, 'count')], ['memory', obj(sys.memory, 'text')],
      ['date', obj(sys.date, 'utc')], ['uptime', obj(sys.uptime, 'text')], ['load average', Array.isArray(sys.loadAverage) ? sys.loadAverage.join(', ') : sys.loadAverage], ['tasks', sys.tasks],
      ['dump file', sys.dumpfile ? sys.dumpfile.format + (sys.dumpfile.compression ? ', ' + sys.dumpfile.compression : '') + (sys.dumpfile.partial ? ', partial' : '') : null],
      ['panic', sys.panic], ['panic CPU', sys.panicCpu], ['panic task', sys.panicTask ? sys.panicTask.comm + ' (' + sys.panicTask.pid + ')' : null],
      ['taint', sys.taint ? (sys.taint.letters || '-') + (sys.taint.flags ? ' — ' + sys.taint.flags.map(function (f) { return f.letter + ': ' + f.meaning; }).join('; ') : '') : null]]));

    var bt = sectionData('bt');
    var s2 = section('panic', 'The panic stack', null);
    var traces = bt && bt.traces ? bt.traces : [];
    var tr = traces.filter(function (t) { return sys.panicTask && t.pid === sys.panicTask.pid; })[0] || traces.filter(function (t) { return t.active && t.cpu === sys.panicCpu; })[0] || traces[0];
    if (tr) {
      s2.appendChild(el('p', { text: 'PID ' + tr.pid + ' ' + tr.comm + ' on CPU ' + tr.cpu + ' — ' + (tr.source || '') }));
      s2.appendChild(el('ol', { cls: 'stack' }, (tr.frames || []).map(function (f) { return el('li', { cls: f.reliable ? '' : 'unreliable', text: (f.text || f.function || f.ip) + (f.module ? ' [' + f.module + ']' : '') }); })));
    } else s2.appendChild(el('p', { text: 'no backtrace' }));

    var rq = sectionData('runq');
    var s3 = section('runq', 'Runqueues per CPU', 'Tasks queued on each CPU (CFS and RT), and what each ran.');
    if (rq && rq.runqueues) {
      var cpus = rq.runqueues.map(function (r) { return 'CPU ' + r.cpu; });
      var cfs = rq.runqueues.map(function (r) { var c = (rq.cfs || []).filter(function (x) { return x.cpu === r.cpu; })[0]; return c ? c.nrRunning : (r.cfs || []).length; });
      var rt = rq.runqueues.map(function (r) { return (r.rt || []).length; });
      chart(s3, Math.max(160, 40 + 26 * cpus.length), {
        animation: false, legend: { data: ['CFS', 'RT'], top: 0 }, grid: { left: 70, right: 30, top: 30, bottom: 30 },
        tooltip: { trigger: 'axis', formatter: function (p) { var r = rq.runqueues[p[0].dataIndex]; return esc(p[0].name) + ': ' + p.map(function (x) { return esc(x.seriesName) + ' ' + x.value; }).join(', ') + '<br>current: ' + esc(r.curr ? r.curr.comm + ' (' + r.curr.pid + ')' : '-'); } },
        xAxis: { type: 'value', minInterval: 1 }, yAxis: { type: 'category', data: cpus, inverse: true },
        series: [{ name: 'CFS', type: 'bar', stack: 'q', data: cfs, itemStyle: { color: '#4e79a7' } }, { name: 'RT', type: 'bar', stack: 'q', data: rt, itemStyle: { color: '#e15759' } }],
      });
    } else s3.appendChild(el('p', { text: 'no runqueue data' }));

    var lk = sectionData('locks');
    var s4 = section('locks', 'Locks: holders and waiters', null);
    var blocked = lk && lk.report && lk.report.blocked ? lk.report.blocked : [];
    var withLock = blocked.filter(function (b) { return b.lock; });
    if (withLock.length) {
      var nodes = {}, links = [];
      var add = function (id, label, cat) { if (!nodes[id]) nodes[id] = { id: id, name: id, value: label, category: cat, symbolSize: cat === 1 ? 32 : 20 }; };
      withLock.slice(0, 60).forEach(function (b) {
        var l = 'lock ' + b.lock.address;
        add(l, b.lock.kind + ' ' + (b.lock.name || b.lock.address), 1);
        var w = 'task ' + b.task.pid;
        add(w, b.task.comm + ' (' + b.task.pid + ') ' + b.task.state, 2);
        links.push({ source: w, target: l });
        if (b.holder) { var h = 'task ' + b.holder.pid; add(h, b.holder.comm + ' (' + b.holder.pid + ') ' + b.holder.state, 0); links.push({ source: l, target: h }); }
      });
      var arr = Object.keys(nodes).map(function (k) { return nodes[k]; });
      chart(s4, Math.min(600, 220 + 12 * arr.length), {
        animation: false, legend: { data: ['holder', 'lock', 'waiter'], top: 0 }, tooltip: { formatter: function (p) { return p.dataType === 'edge' ? '' : esc(p.data.value); } },
        series: [{ type: 'graph', layout: 'force', force: { repulsion: 300, gravity: 0.2, edgeLength: 110, layoutAnimation: false }, top: 40, bottom: 20, left: 40, right: 220,
          roam: true, data: arr, links: links, edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 8,
          categories: [{ name: 'holder' }, { name: 'lock' }, { name: 'waiter' }], label: { show: true, position: 'right', fontSize: 12, formatter: function (p) { return p.data.value; } } }],
      });
    }
    s4.appendChild(table(['task', 'state', 'waits', 'lock', 'holder', 'off CPU s'], blocked.slice(0, 200).map(function (b) {
      return [b.task.comm + ' (' + b.task.pid + ')', b.task.state, b.waitKind, b.lock ? b.lock.kind + ' ' + (b.lock.name || b.lock.address) : '-', b.holder ? b.holder.comm + ' (' + b.holder.pid + ')' : '-', b.task.offCpuS == null ? '-' : String(b.task.offCpuS)];
    })));

    var cg = sectionData('cgroup');
    var s5 = section('cgroups', 'Cgroup tree', 'Blocked and running tasks per cgroup; hot spots (blocked tasks, throttling) in red.');
    (cg && cg.hierarchies ? cg.hierarchies : []).slice(0, 3).forEach(function (h) {
      var ns = (h.nodes || []).slice(0, 400);
      if (!ns.length) return;
      var root = null, byPath = {};
      ns.forEach(function (n) {
        var hot = n.blocked > 0 || (n.cpu && n.cpu.nrThrottled > 0);
        byPath[n.path] = { name: (n.path === '/' ? '/' : n.path.split('/').pop()) + ' · ' + n.tasks + ' tasks' + (n.blocked ? ', ' + n.blocked + ' blocked' : '') + (n.running ? ', ' + n.running + ' running' : ''), children: [],
          itemStyle: { color: hot ? '#d73027' : '#4e79a7' }, label: { color: hot ? '#d73027' : '#333' } };
      });
      ns.forEach(function (n) {
        if (n.path === '/') { root = byPath[n.path]; return; }
        var parent = n.path.slice(0, n.path.lastIndexOf('/')) || '/';
        (byPath[parent] || byPath['/'] || { children: [] }).children.push(byPath[n.path]);
      });
      if (!root) return;
      s5.appendChild(el('h4', { text: 'hierarchy ' + h.id + ' (' + h.version + (h.controllers && h.controllers.length ? ': ' + h.controllers.slice(0, 6).join(', ') : '') + ')' }));
      chart(s5, Math.max(180, Math.min(900, 22 * ns.length)), {
        animation: false, tooltip: { formatter: function (p) { return esc(p.name); } },
        series: [{ type: 'tree', data: [root], orient: 'LR', left: 20, right: 260, top: 10, bottom: 10, symbolSize: 8, expandAndCollapse: true, initialTreeDepth: 4,
          label: { position: 'right', fontSize: 11, formatter: function (p) { return p.name; } } }],
      });
    });

    var tk = sectionData('tasks');
    var s6 = section('states', 'Task states', 'All tasks by state (RU running, IN interruptible, UN uninterruptible, ID idle, …); outliers flagged by tasktable below.');
    if (tk && tk.states) {
      var st = Object.keys(tk.states).sort();
      chart(s6, 220, {
        animation: false, grid: { left: 50, right: 20, top: 10, bottom: 30 }, tooltip: { trigger: 'axis', formatter: function (p) { return esc(p[0].name) + ': ' + p[0].value; } },
        xAxis: { type: 'category', data: st }, yAxis: { type: 'value', minInterval: 1 },
        series: [{ type: 'bar', data: st.map(function (k) { return tk.states[k]; }), itemStyle: { color: function (p) { return p.name === 'UN' ? '#d73027' : '#4e79a7'; } } }],
      });
      s6.appendChild(table(['pid', 'state', 'comm', 'cgroup', 'flags'], (tk.rows || []).slice(0, 50).map(function (r) { return [String(r.pid), r.st, r.comm, r.cgroup, (r.flags || []).join(', ')]; })));
    }

    var md = sectionData('mod');
    var s7 = section('taint', 'Tainting modules', null);
    var mods = md && md.modules ? md.modules : [];
    var tainting = mods.filter(function (m) { return m.taints; });
    s7.appendChild(el('p', { text: mods.length + ' modules loaded; ' + tainting.length + ' taint the kernel.' }));
    if (tainting.length) s7.appendChild(table(['module', 'taints', 'base', 'size'], tainting.map(function (m) { return [m.name, m.taints, m.base, String(m.size)]; })));

    var lg = sectionData('log');
    var s8 = section('log', 'Kernel log (tail)', null);
    var recs = lg && lg.records ? lg.records : [];
    s8.appendChild(el('pre', { cls: 'log', text: recs.map(function (r) { return (r.time != null ? '[' + Number(r.time).toFixed(6).padStart(12) + '] ' : '') + (r.text != null ? r.text : r.message != null ? r.message : JSON.stringify(r)); }).join('\n') }));
  }

  // ---------------------------------------------------------------- batch index
  function index() {
    document.body.appendChild(el('h1', { text: 'vaat report: ' + D.rows.length + ' dumps' }));
    var s = section('dumps', 'Dumps', null);
    s.appendChild(table(['dump', 'kernel', 'panic', 'time', 'problems'], D.rows.map(function (r) {
      var a = el('a', { href: './' + encodeURIComponent(r.file) + '.html', text: r.dump });
      return { attrs: r.error ? { cls: 'err' } : null, cells: [a, r.kernel || '-', r.error ? 'unreadable: ' + r.error : r.panic || '-', Number(r.seconds).toFixed(2) + ' s', String(r.problems)] };
    })));
  }

  try {
    if (KIND === 'similarity') similarity();
    else if (KIND === 'dump') dump();
    else if (KIND === 'index') index();
  } catch (e) {
    fail(e);
    return;
  }
  drain(function () { document.body.setAttribute('data-ready', '1'); });
})();
