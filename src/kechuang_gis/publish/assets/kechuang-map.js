/* kechuang-gis web map runtime (part of kechuang-gis, MIT).
 *
 * Security contract with webmap.py: strings that reach innerHTML here (popups, tooltips,
 * legends, panels, layer names) were HTML-escaped in Python; names for the search box
 * are raw text and are only ever written with textContent.
 */
(function () {
  "use strict";
  var KG = window.KG = window.KG || {layers: [], index: [], map: null};

  /* A GeoJSON layer with a style table: feature.properties = {c: style index,
   * p: popup HTML, t: tooltip HTML, n: search name, r: point radius}. */
  KG.geo = function (name, data, opts) {
    var styles = opts.styles || [{}];
    var entry = {name: name, n: 0, layer: null};
    function styleOf(f) {
      var p = f.properties || {};
      return styles[p.c || 0] || styles[0];
    }
    var layer = L.geoJSON(data, {
      style: styleOf,
      pointToLayer: function (f, latlng) {
        var s = L.extend({}, styleOf(f));
        if (f.properties && f.properties.r) { s.radius = f.properties.r; }
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties || {};
        entry.n += 1;
        if (p.p) { lyr.bindPopup(p.p, {maxWidth: 380, autoPan: false}); }
        if (p.t) { lyr.bindTooltip(p.t, {sticky: true}); }
        if (p.n) { KG.index.push({name: String(p.n), layer: lyr, group: name}); }
      }
    });
    if (opts.interactive === false) {
      layer.eachLayer(function (l) { if (l.options) { l.options.interactive = false; } });
    }
    entry.layer = layer;
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
