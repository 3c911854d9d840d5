/* kechuang-gis web map runtime (part of kechuang-gis, MIT).
 *
 * Security contract with webmap.py: data (names, popup values, tooltips) arrives as JSON
 * values and is written into the page with textContent / createElement only; it never
 * reaches innerHTML. Only the legend, title and side-panel boxes and the layer names
 * (which Leaflet's layer control writes with innerHTML) are HTML, escaped in Python.
 */
(function () {
  "use strict";
  var KG = window.KG = window.KG || {layers: [], index: [], map: null, byId: {}};

  function el(tag, cls, parent) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function group(s) {
    var parts = s.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  /* Numbers as webmap._fmt_num writes them: integers grouped from 10,000, other values
   * with up to 2 decimals (3 significant digits below 1). Strings pass unchanged. */
  KG.fmt = function (v) {
    if (typeof v !== "number") { return v === null || v === undefined ? "" : String(v); }
    if (!isFinite(v)) { return ""; }
    var a = Math.abs(v);
    if (Number.isInteger(v)) { return a >= 10000 ? group(String(v)) : String(v); }
    if (a < 1) { return String(Number(v.toPrecision(3))); }
    var s = v.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
    return a >= 1000 ? group(s) : s;
  };

  /* Geometry: integer coordinates (degrees x scale), each part delta-coded from its
   * first point; polygon rings are stored open. Codes follow webmap._GEOM_CODES. */
  function path(a, scale, closed) {
    var out = [], x = 0, y = 0;
    for (var i = 0; i + 1 < a.length; i += 2) {
      x += a[i]; y += a[i + 1];
      out.push([x / scale, y / scale]);
    }
    if (closed && out.length) { out.push([out[0][0], out[0][1]]); }
    return out;
  }
  function rings(r, scale) { return r.map(function (p) { return path(p, scale, true); }); }
  function geometry(t, a, scale) {
    switch (t) {
      case 1: return {type: "Point", coordinates: path(a, scale)[0]};
      case 2: return {type: "LineString", coordinates: path(a, scale)};
      case 3: return {type: "Polygon", coordinates: rings(a, scale)};
      case 4: return {type: "MultiPoint", coordinates: a.map(function (p) { return path(p, scale)[0]; })};
      case 5: return {type: "MultiLineString", coordinates: a.map(function (p) { return path(p, scale); })};
      case 6: return {type: "MultiPolygon", coordinates: a.map(function (p) { return rings(p, scale); })};
      case 7: return {type: "GeometryCollection",
                      geometries: a.map(function (g) { return geometry(g[0], g[1], scale); })};
    }
    return null;
  }

  function value(pop, i, j) {
    var row = pop.v[i] || [];
    var v = row[j];
    if (v === null || v === undefined) { return null; }
    var dict = pop.d && pop.d[j];
    return dict ? dict[v] : v;
  }

  /* A popup table: title, subtitle, label/value rows (missing values left out), and an
   * optional titled list. Every text is set with textContent. */
  KG.popupNode = function (pop, i) {
    var div = el("div", "kg-popup");
    var title = pop.h ? pop.h[i] : null;
    if (title !== null && title !== undefined && title !== "") { el("h4", "", div).textContent = title; }
    var sub = pop.s ? pop.s[i] : null;
    if (sub && sub !== title) { el("div", "kg-sub", div).textContent = sub; }
    var table = el("table", "", div);
    for (var j = 0; j < pop.l.length; j++) {
      var v = value(pop, i, j);
      if (v === null || v === "") { continue; }
      var tr = el("tr", "", table);
      el("th", "", tr).textContent = pop.l[j];
      el("td", typeof v === "number" ? "num" : "", tr).textContent = KG.fmt(v);
    }
    var x = pop.x ? pop.x[i] : null;
    if (x) {
      var box = el("div", "kg-list", div);
      el("b", "", box).textContent = x[0];
      var ul = el("ul", "", box);
      x[1].forEach(function (t) { el("li", "", ul).textContent = t; });
    }
    return div;
  };

  function tooltipText(data, i) {
    if (data.t) { return data.t[i]; }
    var v = value(data.p, i, data.tc);
    return data.p.l[data.tc] + ": " + (v === null ? "–" : KG.fmt(v));
  }

  /* A layer from webmap.add_geo's compact data: f features; g geometry code (one for the
   * layer or one per feature); x coordinates; c style indices; r point radii; t tooltip
   * texts, or tc the popup column shown as tooltip; n search names; p popup table
   * {l labels, v value rows, d dictionaries, h titles, s subtitles, x lists}. A layer
   * given "ref" (the id of an earlier layer) uses that layer's geometry and popups. */
  KG.geo = function (map, name, data, opts) {
    if (opts.id) { KG.byId[opts.id] = {data: data}; }
    if (data.ref) {
      var src = KG.byId[data.ref].data;
      data = L.extend({}, data, {g: src.g, x: src.x, s: src.s, p: data.p || src.p});
    }
    if (opts.pane && !map.getPane(opts.pane)) {
      map.createPane(opts.pane).style.zIndex = String(opts.paneZ || 410);
    }
    var styles = opts.styles || [{}];
    var scale = data.s || 1e5;
    var pop = data.p || null;
    var hasTip = !!data.t || (pop !== null && data.tc !== undefined && data.tc !== null);
    var features = new Array(data.f);
    for (var i = 0; i < data.f; i++) {
      var props = {i: i, c: data.c ? data.c[i] : 0};
      if (data.r) { props.r = data.r[i]; }
      if (pop) { props.p = 1; }
      if (hasTip && (!data.t || (data.t[i] !== null && data.t[i] !== ""))) { props.t = 1; }
      if (data.n && data.n[i]) { props.n = data.n[i]; }
      var t = typeof data.g === "number" ? data.g : data.g[i];
      features[i] = {type: "Feature", properties: props, geometry: geometry(t, data.x[i], scale)};
    }
    var entry = {name: name, id: opts.id || null, n: 0, layer: null};
    var extra = {};
    if (opts.pane) { extra.pane = opts.pane; }
    if (opts.canvas) { extra.renderer = L.canvas({pane: opts.pane || "overlayPane", padding: 0.3}); }
    if (opts.interactive === false) { extra.interactive = false; }
    function styleOf(f) {
      return L.extend({}, styles[f.properties.c] || styles[0], extra);
    }
    var layer = L.geoJSON({type: "FeatureCollection", features: features}, L.extend({
      style: styleOf,
      pointToLayer: function (f, latlng) {
        var s = styleOf(f);
        if (f.properties.r) { s.radius = f.properties.r; }
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties, k = p.i;
        entry.n += 1;
        if (p.p) {
          lyr.bindPopup(function () { return KG.popupNode(pop, k); }, {maxWidth: 380, autoPan: false});
        }
        if (p.t) {
          lyr.bindTooltip(function () {
            var s = el("span");
            s.textContent = tooltipText(data, k);
            return s;
          }, {sticky: true});
        }
        if (p.n) { KG.index.push({name: String(p.n), layer: lyr, group: name}); }
      }
    }, extra));
    entry.layer = layer;
    if (opts.id) { KG.byId[opts.id].layer = layer; }
    KG.layers.push(entry);
    return layer;
  };

  /* A control holding pre-escaped HTML (legend, title, side panel). */
  KG.box = function (map, html, position, cls) {
    var Box = L.Control.extend({
      options: {position: position},
      onAdd: function () {
        var div = L.DomUtil.create("div", "kg-box " + cls);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    return new Box().addTo(map);
  };

  KG.attribution = function (map, html) {
    if (map.attributionControl) { map.attributionControl.addAttribution(html); }
  };

  /* Swipe comparison: the layers of opts.left and opts.right (ids given to KG.geo) sit
   * in their own panes; each pane is clipped to its side of a draggable divider. A mode
   * switch shows either the change layer (opts.delta) or the two sides. */
  KG.swipe = function (map, opts) {
    var left = KG.byId[opts.left].layer, right = KG.byId[opts.right].layer;
    var delta = opts.delta ? KG.byId[opts.delta].layer : null;
    var lp = map.getPane(opts.leftPane), rp = map.getPane(opts.rightPane);
    var frac = 0.5;
    var box = map.getContainer();
    var ui = el("div", "kg-swipe", box);
    var line = el("div", "kg-swipe-line", ui);
    var handle = el("div", "kg-swipe-handle", line);
    handle.tabIndex = 0;
    handle.setAttribute("role", "slider");
    handle.setAttribute("aria-label", opts.labels.handle);
    handle.textContent = "⇔";
    el("span", "kg-swipe-tag kg-swipe-left", line).textContent = "◀ " + opts.labels.left;
    el("span", "kg-swipe-tag kg-swipe-right", line).textContent = opts.labels.right + " ▶";

    function poly(x0, y0, x1, y1) {
      return "polygon(" + x0 + "px " + y0 + "px, " + x1 + "px " + y0 + "px, " + x1 + "px " + y1 +
        "px, " + x0 + "px " + y1 + "px)";
    }
    function clip() {
      var size = map.getSize();
      var nw = map.containerPointToLayerPoint([0, 0]);
      var se = map.containerPointToLayerPoint(size);
      var x = nw.x + size.x * frac;
      lp.style.clipPath = poly(nw.x, nw.y, x, se.y);
      rp.style.clipPath = poly(x, nw.y, se.x, se.y);
      line.style.left = (size.x * frac) + "px";
      handle.setAttribute("aria-valuenow", String(Math.round(frac * 100)));
    }
    function visible() {
      var on = map.hasLayer(left) && map.hasLayer(right);
      ui.style.display = on ? "block" : "none";
      if (!on) { lp.style.clipPath = ""; rp.style.clipPath = ""; } else { clip(); }
    }
    KG.swipeTo = function (f) { frac = Math.min(1, Math.max(0, f)); clip(); return frac; };

    var dragging = false;
    function toFrac(e) {
      var r = box.getBoundingClientRect();
      KG.swipeTo((e.clientX - r.left) / r.width);
    }
    L.DomEvent.on(handle, "pointerdown", function (e) {
      dragging = true;
      if (handle.setPointerCapture) { handle.setPointerCapture(e.pointerId); }
      map.dragging.disable();
      L.DomEvent.stop(e);
    });
    L.DomEvent.on(handle, "pointermove", function (e) { if (dragging) { toFrac(e); } });
    L.DomEvent.on(handle, "pointerup pointercancel", function () {
      dragging = false;
      map.dragging.enable();
    });
    L.DomEvent.on(handle, "keydown", function (e) {
      if (e.key === "ArrowLeft") { KG.swipeTo(frac - 0.05); L.DomEvent.stop(e); }
      if (e.key === "ArrowRight") { KG.swipeTo(frac + 0.05); L.DomEvent.stop(e); }
    });
    L.DomEvent.disableClickPropagation(ui);
    map.on("move zoom resize viewreset", function () { if (ui.style.display !== "none") { clip(); } });
    map.on("layeradd layerremove", visible);

    /* mode switch: change layer, or the two sides */
    var Mode = L.Control.extend({
      options: {position: "topleft"},
      onAdd: function () {
        var div = L.DomUtil.create("div", "kg-box kg-mode leaflet-bar");
        [["delta", opts.labels.delta], ["compare", opts.labels.compare]].forEach(function (m) {
          var b = el("button", "kg-mode-" + m[0], div);
          b.type = "button";
          b.textContent = m[1];
          L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); KG.swipeMode(m[0]); });
        });
        L.DomEvent.disableClickPropagation(div);
        return div;
      }
    });
    var mode = new Mode().addTo(map);
    KG.swipeMode = function (m) {
      if (m === "compare") {
        if (delta) { map.removeLayer(delta); }
        map.addLayer(left); map.addLayer(right);
      } else {
        map.removeLayer(left); map.removeLayer(right);
        if (delta) { map.addLayer(delta); }
      }
      var buttons = mode.getContainer().querySelectorAll("button");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].classList.toggle("kg-on", buttons[i].className.indexOf("kg-mode-" + m) >= 0);
      }
      visible();
      return m;
    };
    KG.swipeMode(opts.mode || "delta");
  };

  function target(item) {
    var l = item.layer;
    if (l.getLatLng) { return {center: l.getLatLng()}; }
    if (l.getBounds) { return {bounds: l.getBounds()}; }
    return null;
  }

  function go(map, item) {
    var t = target(item);
    if (!t) { return; }
    if (t.center) { map.setView(t.center, Math.max(map.getZoom(), 12)); }
    else { map.fitBounds(t.bounds, {maxZoom: 13}); }
    if (!map.hasLayer(item.layer)) {
      /* the feature's overlay is switched off: show the place, not its popup */
      return;
    }
    if (item.layer.getPopup && item.layer.getPopup()) {
      item.layer.openPopup(t.center || t.bounds.getCenter());
    }
  }

  /* Search over the names registered by KG.geo; results written with textContent. */
  KG.search = function (map, placeholder, maxResults) {
    maxResults = maxResults || 12;
    var Search = L.Control.extend({
      options: {position: "topleft"},
      onAdd: function () {
        var div = L.DomUtil.create("div", "kg-search leaflet-bar");
        var input = L.DomUtil.create("input", "kg-search-input", div);
        input.type = "search";
        input.placeholder = placeholder;
        input.setAttribute("aria-label", placeholder);
        var list = L.DomUtil.create("ul", "kg-search-results", div);
        var hits = [];
        function render() {
          var q = input.value.trim().toLowerCase();
          list.textContent = "";
          hits = [];
          if (!q) { return; }
          for (var i = 0; i < KG.index.length && hits.length < maxResults; i++) {
            if (KG.index[i].name.toLowerCase().indexOf(q) >= 0) { hits.push(KG.index[i]); }
          }
          hits.forEach(function (item) {
            var li = L.DomUtil.create("li", "", list);
            var nm = L.DomUtil.create("span", "kg-hit-name", li);
            nm.textContent = item.name;
            var grp = L.DomUtil.create("small", "kg-hit-group", li);
            grp.textContent = KG.unescape(item.group);
            L.DomEvent.on(li, "click", function () { go(map, item); list.textContent = ""; });
          });
        }
        L.DomEvent.on(input, "input", render);
        L.DomEvent.on(input, "keydown", function (e) {
          if (e.key === "Enter" && hits.length) { go(map, hits[0]); list.textContent = ""; }
        });
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    KG.searchControl = new Search().addTo(map);
    return KG.searchControl;
  };

  /* Layer names arrive HTML-escaped (they are also shown by Leaflet's layer control,
   * which uses innerHTML); decode them for textContent without parsing any markup. */
  KG.unescape = function (s) {
    return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
  };

  KG.find = function (query) {
    var q = String(query).toLowerCase();
    return KG.index.filter(function (it) { return it.name.toLowerCase().indexOf(q) >= 0; });
  };
}());
