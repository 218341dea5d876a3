/**
 * The script every report runs in the browser (plain ES2017, no imports: it is inlined after
 * uPlot). It reads the report JSON from the page, draws x/y charts with uPlot and bars and heat
 * maps as SVG / canvas, and leaves `window.__orbitflowCharts` (one entry per chart: id, kind,
 * series expected and series drawn) and `window.__orbitflowReady` for the browser test.
 * Kept free of backticks and dollar-brace so it can live in this template literal.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  var SVGNS = 'http://www.w3.org/2000/svg';
  var WIDTH = 920;
  var HEIGHT = 300;
  var report = JSON.parse(document.getElementById('orbitflow-report').textContent);
  var charts = [];
  window.__orbitflowCharts = charts;
  window.__orbitflowReady = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function color(i) { return PALETTE[i % PALETTE.length]; }
  // The smallest 1, 2, 2.5 or 5 × 10^k at or above v, so that quarter ticks are round numbers.
  function niceCeil(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v * (1 - 1e-9)) return steps[i] * p;
    return 10 * p;
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return 'n/a';
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    return String(Math.round(v * 1000) / 1000);
  }
  function entry(spec, box) {
    var c = { id: spec.id, kind: spec.kind, title: spec.title, expected: spec.series ? spec.series.length : spec.rows.length, drawn: 0, error: null };
    charts.push(c);
    box.setAttribute('data-chart', spec.id);
    box.setAttribute('data-expected-series', String(c.expected));
    return c;
  }
  function done(c, box, drawn) {
    c.drawn = drawn;
    box.setAttribute('data-series', String(drawn));
  }

  function chartBox(parent, spec) {
    var fig = el('figure', 'chart');
    fig.appendChild(el('figcaption', null, spec.title));
    var box = el('div', 'plot');
    fig.appendChild(box);
    if (spec.note) fig.appendChild(el('p', 'note', spec.note));
    parent.appendChild(fig);
    return box;
  }

  function rulesHook(spec) {
    return function (u) {
      var rules = spec.rules || [];
      var ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.strokeStyle = '#555';
      ctx.fillStyle = '#333';
      ctx.font = (11 * devicePixelRatio) + 'px sans-serif';
      for (var i = 0; i < rules.length; i++) {
        var r = rules[i];
        ctx.beginPath();
        if (r.axis === 'x') {
          var x = u.valToPos(r.value, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillText(r.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio * (1 + i));
        } else {
          var y = u.valToPos(r.value, 'y', true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.fillText(r.label, u.bbox.left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
        }
      }
      ctx.restore();
    };
  }

  function xyChart(parent, spec) {
    var box = chartBox(parent, spec);
    var c = entry(spec, box);
    var withData = spec.series.filter(function (s) { return s.x.length > 0; });
    if (withData.length === 0) {
      box.appendChild(el('p', 'empty', 'no data'));
      done(c, box, 0);
      return;
    }
    var data = uPlot.join(withData.map(function (s) { return [s.x, s.y]; }));
    var drawn = {};
    var stepped = spec.kind === 'cdf' || spec.kind === 'step';
    var series = [{ label: spec.xLabel }];
    withData.forEach(function (s, i) {
      var o = { label: s.label, stroke: color(i), width: 1.5, spanGaps: true, points: { show: !!spec.points, size: 5, fill: color(i) } };
      if (spec.points) o.paths = function () { return null; };
      else if (stepped) o.paths = uPlot.paths.stepped({ align: 1 });
      series.push(o);
    });
    var opts = {
      width: Math.min(WIDTH, Math.max(320, (box.clientWidth || WIDTH))),
      height: HEIGHT,
      series: series,
      scales: { x: { time: false }, y: spec.kind === 'cdf' ? { range: [0, 1] } : {} },
      axes: [{ label: spec.xLabel }, { label: spec.yLabel, size: 60 }],
      legend: { live: true },
      hooks: {
        draw: [rulesHook(spec)],
        drawSeries: [function (u, si) { drawn[si] = true; }],
      },
    };
    var u = new uPlot(opts, data, box);
    c.instance = u;
    c.countDrawn = function () { return Object.keys(drawn).length; };
  }

  function barChart(parent, spec) {
    var box = chartBox(parent, spec);
    var c = entry(spec, box);
    var m = { l: 76, r: 16, t: 12, b: 70 };
    var W = WIDTH, H = HEIGHT + 40;
    var iw = W - m.l - m.r, ih = H - m.t - m.b;
    var ncat = spec.categories.length, nser = spec.series.length;
    var max = 0;
    for (var k = 0; k < ncat; k++) {
      var sum = 0;
      for (var s = 0; s < nser; s++) {
        var v = spec.series[s].values[k];
        if (v === null || !isFinite(v)) continue;
        if (spec.stacked) sum += Math.max(0, v); else max = Math.max(max, v);
      }
      if (spec.stacked) max = Math.max(max, sum);
    }
    if (spec.fraction) max = Math.max(max, 1);
    if (max <= 0) max = 1;
    max = niceCeil(max);
    var root = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var g = svg('g', { transform: 'translate(' + m.l + ',' + m.t + ')' });
    root.appendChild(g);
    for (var t = 0; t <= 4; t++) {
      var tv = (max * t) / 4, ty = ih - (ih * t) / 4;
      g.appendChild(svg('line', { x1: 0, x2: iw, y1: ty, y2: ty, stroke: '#ddd' }));
      var lab = svg('text', { x: -6, y: ty + 4, 'text-anchor': 'end', 'font-size': 11 });
      lab.textContent = spec.fraction ? Math.round(tv * 100) + ' %' : fmt(tv);
      g.appendChild(lab);
    }
    var ylab = svg('text', { x: -ih / 2, y: -60, transform: 'rotate(-90)', 'text-anchor': 'middle', 'font-size': 12 });
    ylab.textContent = spec.yLabel;
    g.appendChild(ylab);
    var gw = iw / Math.max(1, ncat);
    var bw = spec.stacked ? gw * 0.7 : (gw * 0.8) / Math.max(1, nser);
    var seriesDrawn = {};
    for (var ci = 0; ci < ncat; ci++) {
      var base = 0;
      for (var si = 0; si < nser; si++) {
        var val = spec.series[si].values[ci];
        if (val === null || !isFinite(val)) continue;
        var h = (Math.max(0, val) / max) * ih;
        var x = spec.stacked ? ci * gw + gw * 0.15 : ci * gw + gw * 0.1 + si * bw;
        var y = ih - h - (spec.stacked ? base : 0);
        if (spec.stacked) base += h;
        var rect = svg('rect', { x: x, y: y, width: Math.max(1, bw - 1), height: Math.max(h, 0.5), fill: color(si), 'data-series': si });
        var tip = svg('title', {});
        tip.textContent = spec.categories[ci] + ' · ' + spec.series[si].label + ': ' + (spec.fraction ? (Math.round(val * 1000) / 10) + ' %' : fmt(val));
        rect.appendChild(tip);
        g.appendChild(rect);
        seriesDrawn[si] = true;
      }
      var cl = svg('text', { x: ci * gw + gw / 2, y: ih + 14, 'text-anchor': ncat > 8 ? 'end' : 'middle', 'font-size': 11, transform: ncat > 8 ? 'rotate(-40 ' + (ci * gw + gw / 2) + ' ' + (ih + 14) + ')' : '' });
      cl.textContent = spec.categories[ci];
      g.appendChild(cl);
    }
    box.appendChild(root);
    box.appendChild(legend(spec.series.map(function (s, i) { return { label: s.label, color: color(i) }; })));
    done(c, box, Object.keys(seriesDrawn).length);
  }

  function legend(items) {
    var ul = el('ul', 'legend');
    items.forEach(function (it) {
      var li = el('li');
      var sw = el('span', 'swatch');
      sw.style.background = it.color;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(it.label));
      ul.appendChild(li);
    });
    return ul;
  }

  function heatMap(parent, spec) {
    var box = chartBox(parent, spec);
    var c = entry(spec, box);
    var rows = spec.rows.length, cols = spec.columns;
    var labelW = rows <= 64 ? 90 : 0;
    var cw = Math.max(2, Math.min(16, Math.floor((WIDTH - labelW - 10) / Math.max(1, cols))));
    var ch = Math.max(2, Math.min(16, Math.floor(600 / Math.max(1, rows))));
    var canvas = document.createElement('canvas');
    canvas.width = labelW + cols * cw + 1;
    canvas.height = rows * ch + 18;
    var ctx = canvas.getContext('2d');
    ctx.font = '10px sans-serif';
    ctx.fillStyle = '#333';
    var drawnRows = 0;
    for (var r = 0; r < rows; r++) {
      var any = false;
      for (var k = 0; k < cols; k++) {
        var code = spec.cells[r * cols + k];
        var l = spec.legend[code];
        if (!l) continue;
        ctx.fillStyle = l.color;
        ctx.fillRect(labelW + k * cw, r * ch, cw - (cw > 3 ? 1 : 0), ch - (ch > 3 ? 1 : 0));
        any = true;
      }
      if (any) drawnRows++;
      if (labelW > 0 && ch >= 9) {
        ctx.fillStyle = '#333';
        ctx.fillText(spec.rows[r].slice(0, 14), 2, r * ch + ch - 2);
      }
    }
    ctx.fillStyle = '#333';
    for (var x = 0; x < cols; x += Math.max(1, Math.ceil(cols / 16))) ctx.fillText(String(x), labelW + x * cw, rows * ch + 12);
    box.appendChild(el('div', 'axis-label', spec.yLabel + ' (rows) × ' + spec.xLabel + ' (columns)'));
    box.appendChild(canvas);
    box.appendChild(legend(spec.legend));
    done(c, box, drawnRows);
  }

  function table(parent, t) {
    var wrap = el('div', 'table');
    wrap.appendChild(el('h4', null, t.title));
    var tb = el('table');
    var hasHead = t.head.some(function (h) { return h !== ''; });
    if (hasHead) {
      var tr = el('tr');
      t.head.forEach(function (h) { tr.appendChild(el('th', null, h)); });
      tb.appendChild(tr);
    }
    t.rows.forEach(function (row) {
      var r = el('tr');
      row.forEach(function (cell, i) { r.appendChild(el(i === 0 && !hasHead ? 'th' : 'td', null, cell)); });
      tb.appendChild(r);
    });
    wrap.appendChild(tb);
    parent.appendChild(wrap);
  }

  var root = document.getElementById('report');
  root.appendChild(el('h1', null, report.title));
  var dl = el('dl', 'header');
  report.header.forEach(function (kv) { dl.appendChild(el('dt', null, kv[0])); dl.appendChild(el('dd', null, kv[1])); });
  root.appendChild(dl);
  report.sections.forEach(function (s) {
    var sec = el('section');
    sec.appendChild(el('h2', null, s.heading));
    if (s.intro) sec.appendChild(el('p', 'intro', s.intro));
    root.appendChild(sec);
    s.items.forEach(function (item) {
      try {
        if (item.kind === 'table') table(sec, item);
        else if (item.kind === 'text') { sec.appendChild(el('h4', null, item.title)); sec.appendChild(el('pre', 'text', item.text)); }
        else if (item.kind === 'bar') barChart(sec, item);
        else if (item.kind === 'heatmap') heatMap(sec, item);
        else xyChart(sec, item);
      } catch (e) {
        console.error('orbitflow report: chart ' + item.id + ': ' + (e && e.message));
      }
    });
  });
  // uPlot draws on a microtask after construction: count what it drew once it has.
  requestAnimationFrame(function () {
    setTimeout(function () {
      charts.forEach(function (c) {
        if (c.countDrawn) {
          var n = c.countDrawn();
          c.drawn = n;
          var box = document.querySelector('[data-chart="' + c.id + '"]');
          if (box) box.setAttribute('data-series', String(n));
          delete c.countDrawn;
        }
        delete c.instance;
      });
      window.__orbitflowReady = true;
    }, 0);
  });
})();
`;
