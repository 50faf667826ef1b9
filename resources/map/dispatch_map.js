/* The map pane's JS API: window.dispatchMap.
 *
 * The page is rendered once (folium); every live change comes in through these
 * functions, called from Python with runJavaScript and JSON arguments. Clicks go
 * back through the single QWebChannel object "bridge" (one slot, a JSON string).
 * Coordinates in the API are WGS-84 [lon, lat]; Leaflet wants [lat, lon].
 */
(function () {
  "use strict";

  var STATUS_LABELS = {
    available: "空闲", dispatched: "已派", acknowledged: "已签收",
    en_route: "出发", on_scene: "到场", off_duty: "不在岗"
  };
  var KIND_GLYPHS = {
    patrol_car: "车", special_patrol: "特", traffic: "交", ebike_patrol: "电",
    foot_patrol: "步", community: "社", volunteer_patrol: "义", joint_defence: "联",
    peace_volunteer: "志", village_team: "村"
  };

  var map = null, bridge = null, cfg = {};
  var layers = {}, units = {}, incidents = {}, candidates = {}, routes = {};
  var pick = null, highlighted = null, base = null, renderer = null;

  function send(msg) {
    if (bridge) { bridge.send(JSON.stringify(msg)); }
  }

  function esc(text) {
    return String(text === undefined || text === null ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function ll(lon, lat) { return L.latLng(lat, lon); }

  // A unit without a position yet (or a bad one) is simply not drawn.
  function placeable(o) {
    return o && typeof o.lon === "number" && typeof o.lat === "number" && isFinite(o.lon) && isFinite(o.lat);
  }

  /* ---------- markers ---------- */

  function unitClass(u) {
    return "dm-unit st-" + esc(u.status || "available") + (u.alert ? " alert" : "") + (u.stale ? " stale" : "");
  }

  function unitHtml(u) {
    var glyph = KIND_GLYPHS[u.kind] || "警";
    var status = STATUS_LABELS[u.status] || u.status || "";
    return '<div class="dm-unit-dot">' + glyph + '</div><div class="dm-unit-label">' +
      '<span class="dm-callsign">' + esc(u.callsign) + '</span><span class="dm-status">' +
      esc(status) + "</span></div>";
  }

  function unitIcon(u) {
    return L.divIcon({ className: "dm-unit-icon", iconSize: [24, 24], iconAnchor: [12, 12],
      html: '<div class="' + unitClass(u) + '">' + unitHtml(u) + "</div>" });
  }

  function refreshUnitDom(m, u) {
    var el = m.getElement();
    var inner = el && el.firstElementChild, html = unitHtml(u);
    if (!inner) { m.setIcon(unitIcon(u)); m._dmHtml = html; return; }
    var cls = unitClass(u);
    if (inner.className !== cls) { inner.className = cls; }
    if (m._dmHtml !== html) { inner.innerHTML = html; }
    m._dmHtml = html;
  }

  // Only the units in and around the view are in the page: with every marker of 2,000
  // units in the DOM each zoom repositions and each label placement measures them all
  // (bench map, 2,000 units over a city: 100 ms of the page's CPU per view change). The
  // others are kept (position, status, tooltip) and added as the view comes to them.
  // More units than MAX_UNIT_MARKERS around the view (a city zoomed out): each unit is a
  // dot of its status's colour on the map's canvas instead, unlabelled, with its tooltip
  // and click; the whole canvas is redrawn in a few milliseconds.
  var UNIT_VIEW_PAD = 0.5;  // around the view, in view sizes: a pan shows units already there
  var MAX_UNIT_MARKERS = 250;
  var ST_COLOURS = { available: "#2fd15a", dispatched: "#ffb300", acknowledged: "#ffb300",
    en_route: "#3d9bff", on_scene: "#c27bff", off_duty: "#7d8590" };  // dispatch_map.css .st-*
  var unitArea = null;      // null: every unit (before the view is set)
  var dots = {}, dotMode = false;

  function placeUnit(m) {
    if (dotMode) { return false; }
    var on = layers.units.hasLayer(m), want = !unitArea || unitArea.contains(m.getLatLng());
    if (want && !on) { layers.units.addLayer(m); return true; }
    if (!want && on) { layers.units.removeLayer(m); }
    return false;
  }

  function dotStyle(u) {
    return { radius: 5, weight: 1.5, color: "#0b0f14", opacity: 1, fillOpacity: u.stale ? 0.45 : 1,
      fillColor: u.alert ? "#ff3b30" : (ST_COLOURS[u.status] || ST_COLOURS.available) };
  }

  // The unit's dot, made or brought up to date from its marker.
  function unitDot(id) {
    var m = units[id], d = dots[id];
    if (!d) {
      d = L.circleMarker(m.getLatLng(), L.extend({ renderer: renderer, bubblingMouseEvents: false }, dotStyle(m._dmUnit)));
      d.on("click", function () { send({ type: "unit_click", id: m._dmUnit.id }); });
      d.bindTooltip(m._dmTip, { direction: "top", offset: [0, -6], className: "dm-tip" });
      dots[id] = d;
    } else {
      if (!d.getLatLng().equals(m.getLatLng())) { d.setLatLng(m.getLatLng()); }
      if (d._dmKey !== unitClass(m._dmUnit)) { d.setStyle(dotStyle(m._dmUnit)); }
      if (d._dmTip !== m._dmTip) { d.setTooltipContent(m._dmTip); }
    }
    d._dmKey = unitClass(m._dmUnit);
    d._dmTip = m._dmTip;
    if (dotMode && !layers.unitDots.hasLayer(d)) { layers.unitDots.addLayer(d); }
    return d;
  }

  function dropUnit(id) {
    layers.units.removeLayer(units[id]);
    if (dots[id]) { layers.unitDots.removeLayer(dots[id]); delete dots[id]; }
    delete units[id];
  }

  function cullUnits() {
    unitArea = map._loaded ? map.getBounds().pad(UNIT_VIEW_PAD) : null;  // no view yet: all
    var ids = Object.keys(units), around = 0;
    ids.forEach(function (id) { if (unitArea && unitArea.contains(units[id].getLatLng())) { around++; } });
    if (around > MAX_UNIT_MARKERS) {
      if (!dotMode) {
        dotMode = true;
        layers.units.clearLayers();
        ids.forEach(unitDot);
      }
      return;
    }
    if (dotMode) { dotMode = false; layers.unitDots.clearLayers(); }
    var added = false;
    ids.forEach(function (id) { added = placeUnit(units[id]) || added; });
    if (added) { scheduleDeclutter(); }
  }

  function setUnits(list) {
    var seen = upsertUnits(list);
    Object.keys(units).forEach(function (id) { if (!seen[id]) { dropUnit(id); } });
  }

  // Remove only these units' markers (gone off duty).
  function removeUnits(ids) {
    ids.forEach(function (n) {
      var id = String(n);
      if (units[id]) { dropUnit(id); }
    });
    scheduleDeclutter();
  }

  // Update (or add) only the units given; the others stay as they are (live fixes:
  // `live`, their labels are placed again at most once a second, see scheduleDeclutter).
  function upsertUnits(list, live) {
    var seen = {}, fresh = false;
    list.filter(placeable).forEach(function (u) {
      var id = String(u.id);
      seen[id] = true;
      var pos = ll(u.lon, u.lat), m = units[id];
      if (!m) {
        m = L.marker(pos, { icon: unitIcon(u), keyboard: false, riseOnHover: true });
        m._dmHtml = unitHtml(u);
        m.on("click", function () { send({ type: "unit_click", id: m._dmUnit.id }); });
        units[id] = m;
        fresh = true;  // placed below, once the count decides markers or dots
      } else {
        if (!m.getLatLng().equals(pos)) { m.setLatLng(pos); placeUnit(m); }
        refreshUnitDom(m, u);
      }
      m._dmUnit = u;
      m.setZIndexOffset(u.alert ? 900 : (u.status === "off_duty" ? -200 : 0));
      var tip = esc(u.label || u.callsign);
      if (!m.getTooltip()) { m.bindTooltip(tip, { direction: "top", offset: [0, -12], className: "dm-tip" }); }
      else if (m._dmTip !== tip) { m.setTooltipContent(tip); }
      m._dmTip = tip;
      if (dotMode || dots[id]) { unitDot(id); }
      var t = tracks[id];
      if (t && t.follow) {  // a fix that moved it (a status or staleness redraw is not a point)
        var path = t.line.getLatLngs(), last = path.length ? path[path.length - 1] : null;
        if (!last || !last.equals(pos)) { t.line.addLatLng(pos); }
      }
    });
    if (fresh) { cullUnits(); }
    scheduleDeclutter(live);
    return seen;
  }

  /* ---------- the selected unit's track ---------- */

  // unit id -> {line, follow}; a followed track grows with the unit's live fixes
  var tracks = {};

  function addTrack(unitId, coords, label, follow) {
    var lls = coords.map(function (c) { return ll(c[0], c[1]); });
    var t = { follow: follow, line: L.polyline(lls, { color: "#ffd33d", weight: follow ? 4 : 3,
      opacity: follow ? 0.9 : 0.7, dashArray: "6 4", interactive: false, renderer: renderer }) };
    if (label) { t.line.bindTooltip(esc(label), { sticky: true, className: "dm-tip" }); }
    layers.tracks.addLayer(t.line);
    tracks[String(unitId)] = t;
  }

  // The selected unit's track (the console): only this one is drawn, and it follows the unit.
  function showTrack(unitId, coords, label) {
    clearTrack();
    addTrack(unitId, coords, label, true);
  }

  function clearTrack() {
    layers.tracks.clearLayers();
    tracks = {};
  }

  // Replay: every unit's recent track as it was at the cursor, [{id, coords}], replacing all.
  function setTracks(list) {
    list.forEach(function (t) {
      var cur = tracks[String(t.id)];
      if (cur && !cur.follow) { cur.line.setLatLngs(t.coords.map(function (c) { return ll(c[0], c[1]); })); }
      else { if (cur) { layers.tracks.removeLayer(cur.line); } addTrack(t.id, t.coords, "", false); }
    });
    var keep = {};
    list.forEach(function (t) { keep[String(t.id)] = true; });
    Object.keys(tracks).forEach(function (id) {
      if (!keep[id]) { layers.tracks.removeLayer(tracks[id].line); delete tracks[id]; }
    });
  }

  function incidentIcon(i) {
    var urgent = i.priority === "urgent";
    var cls = "dm-incident" + (urgent ? " urgent" : "") + " ist-" + esc(i.status || "pending");
    return L.divIcon({ className: "dm-incident-icon", iconSize: [30, 30], iconAnchor: [15, 15],
      html: '<div class="' + cls + '"><div class="dm-incident-mark"><span>!</span></div>' +
        '<div class="dm-incident-label">' + esc(i.label || ("#" + i.id)) + "</div></div>" });
  }

  function setIncidents(list) {
    var seen = upsertIncidents(list);
    Object.keys(incidents).forEach(function (id) {
      if (!seen[id]) { layers.incidents.removeLayer(incidents[id]); delete incidents[id]; }
    });
    scheduleDeclutter();
  }

  // Remove only these incidents' markers (closed, transferred, merged).
  function removeIncidents(ids) {
    ids.forEach(function (n) {
      var id = String(n);
      if (incidents[id]) { layers.incidents.removeLayer(incidents[id]); delete incidents[id]; }
    });
    scheduleDeclutter();
  }

  // Update (or add) only the incidents given; the others stay as they are.
  function upsertIncidents(list) {
    var seen = {};
    list.filter(placeable).forEach(function (i) {
      var id = String(i.id), key = [i.status, i.priority, i.label].join("|");
      seen[id] = true;
      var m = incidents[id];
      if (!m) {
        m = L.marker(ll(i.lon, i.lat), { icon: incidentIcon(i), keyboard: false, zIndexOffset: 1000 });
        m.on("click", function () { send({ type: "incident_click", id: m._dmIncident.id }); });
        layers.incidents.addLayer(m);
        incidents[id] = m;
      } else {
        m.setLatLng(ll(i.lon, i.lat));
        if (m._dmKey !== key) { m.setIcon(incidentIcon(i)); }
      }
      m._dmKey = key;
      m._dmIncident = i;
      m.setZIndexOffset(i.priority === "urgent" ? 1200 : 1000);
    });
    scheduleDeclutter();
    return seen;
  }

  function setCandidates(list) {
    layers.candidates.clearLayers();
    candidates = {};
    highlighted = null;
    list.filter(placeable).forEach(function (c, n) {
      var index = (c.index === undefined || c.index === null) ? n : c.index;
      var m = L.marker(ll(c.lon, c.lat), { keyboard: false, zIndexOffset: 1500,
        icon: L.divIcon({ className: "dm-cand-icon", iconSize: [26, 26], iconAnchor: [13, 13],
          html: '<div class="dm-cand"><div class="dm-cand-num">' + (n + 1) + "</div>" +
            '<div class="dm-cand-label">' + esc(c.label || c.name) + "</div></div>" }) });
      m.on("click", function () { send({ type: "candidate_click", index: index }); });
      layers.candidates.addLayer(m);
      candidates[String(index)] = m;
    });
    scheduleDeclutter();
  }

  function highlightCandidate(index) {
    if (highlighted) {
      var old = highlighted.getElement();
      if (old) { old.classList.remove("dm-cand-selected"); }
      highlighted.setZIndexOffset(1500);
    }
    highlighted = candidates[String(index)] || null;
    if (!highlighted) { return; }
    var el = highlighted.getElement();
    if (el) { el.classList.add("dm-cand-selected"); }
    highlighted.setZIndexOffset(3000);
    if (!map.getBounds().pad(-0.1).contains(highlighted.getLatLng())) {
      map.panTo(highlighted.getLatLng(), { animate: false });
    }
    scheduleDeclutter();
  }

  function setPickPoint(lon, lat, label) {
    var html = '<div class="dm-pick"><div class="dm-pick-cross"></div>' +
      (label ? '<div class="dm-pick-label">' + esc(label) + "</div>" : "") + "</div>";
    var icon = L.divIcon({ className: "dm-pick-icon", iconSize: [34, 34], iconAnchor: [17, 17], html: html });
    if (pick) { pick.setLatLng(ll(lon, lat)); pick.setIcon(icon); }
    else {
      pick = L.marker(ll(lon, lat), { icon: icon, interactive: false, keyboard: false, zIndexOffset: 2500 });
      layers.pick.addLayer(pick);
    }
    scheduleDeclutter();
  }

  function clearPickPoint() {
    if (pick) { layers.pick.removeLayer(pick); pick = null; }
  }

  function showRoute(key, coords, label) {
    var lls = coords.map(function (c) { return ll(c[0], c[1]); });
    var r = routes[key];
    if (r) {
      r.casing.setLatLngs(lls);
      r.line.setLatLngs(lls);
    } else {
      r = {
        casing: L.polyline(lls, { color: "#001018", weight: 10, opacity: 0.85, interactive: false, renderer: renderer }),
        line: L.polyline(lls, { color: "#00e5ff", weight: 5, opacity: 1, dashArray: "1 0", renderer: renderer })
      };
      layers.routes.addLayer(r.casing);
      layers.routes.addLayer(r.line);
      routes[key] = r;
    }
    r.line.unbindTooltip();
    if (label && lls.length) {
      r.line.bindTooltip(esc(label), { permanent: true, direction: "right", offset: [10, 0],
        className: "dm-route-label" });
    }
  }

  function clearRoutes() {
    layers.routes.clearLayers();
    routes = {};
  }

  /* ---------- label decluttering ---------- */

  // Labels never cover each other or another marker: the most important first
  // (incidents, candidates, alerts, committed units, available, off duty); a
  // label that does not fit on the right flips to the left, else it is hidden
  // (the marker stays; its tooltip still names it) until the user zooms in.
  // Placing the labels measures and compares every marker: during a storm of live fixes
  // it runs at most once per LIVE_DECLUTTER_MS (the markers themselves move at once);
  // anything else (a new incident, a zoom) places them on the next frame.
  var LIVE_DECLUTTER_MS = 1000;
  var declutterPending = false, declutterTimer = null, declutteredAt = 0;

  function scheduleDeclutter(live) {
    var wait = live ? declutteredAt + LIVE_DECLUTTER_MS - Date.now() : 0;
    if (declutterTimer !== null && wait <= 0) {  // a waiting live pass is due now
      clearTimeout(declutterTimer);
      declutterTimer = null;
      declutterPending = false;
    }
    if (declutterPending) { return; }
    declutterPending = true;
    function onFrame() {
      declutterTimer = null;
      window.requestAnimationFrame(function () { declutterPending = false; declutter(); });
    }
    if (wait > 0) { declutterTimer = setTimeout(onFrame, wait); } else { onFrame(); }
  }

  function unitPriority(u) {
    if (u.alert) { return 1; }
    if (u.status === "available") { return 3; }
    if (u.status === "off_duty") { return 4; }
    return 2;
  }

  function overlaps(r, list) {
    for (var i = 0; i < list.length; i++) {
      var o = list[i];
      if (r.x1 < o.x2 && r.x2 > o.x1 && r.y1 < o.y2 && r.y2 > o.y1 && r.owner !== o.owner) { return true; }
    }
    return false;
  }

  // Where a label may go, in order of preference: [side, vertical shift in label heights].
  var LABEL_SPOTS = [[1, 0], [-1, 0], [1, -1], [1, 1], [-1, -1], [-1, 1]];

  function controlRects() {
    var box = map.getContainer().getBoundingClientRect(), out = [];
    map.getContainer().querySelectorAll(".leaflet-control").forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width && r.height) {
        out.push({ x1: r.left - box.left - 4, x2: r.right - box.left + 4,
          y1: r.top - box.top - 4, y2: r.bottom - box.top + 4, owner: -1 });
      }
    });
    return out;
  }

  function declutter() {
    if (!map) { return; }
    declutteredAt = Date.now();
    var items = [];
    function collect(markers, prio, labelSel, dot) {
      Object.keys(markers).forEach(function (k) {
        var m = markers[k], el = m.getElement();
        if (!el) { return; }
        var label = el.querySelector(labelSel);
        el.classList.remove("dm-left", "dm-nolabel");
        if (label) { label.style.marginTop = ""; }
        items.push({ m: m, el: el, label: label, prio: prio(m), dot: dot,
          pt: map.latLngToContainerPoint(m.getLatLng()) });
      });
    }
    collect(incidents, function (m) { return m._dmIncident.priority === "urgent" ? -2 : -1; },
      ".dm-incident-label", 13);
    collect(candidates, function (m) { return m === highlighted ? -3 : 0; }, ".dm-cand-label", 12);
    collect(units, function (m) { return unitPriority(m._dmUnit); }, ".dm-unit-label", 12);
    if (pick) { collect({ p: pick }, function () { return -4; }, ".dm-pick-label", 12); }
    // Every measure first, in one layout of the page (a measure after a change of a
    // class would lay the page out again for each label), then the choices, then the writes.
    items.forEach(function (it) {
      if (it.label) { it.w = it.label.offsetWidth; it.h = it.label.offsetHeight; }
    });
    var placed = new RectIndex();
    controlRects().forEach(function (r) { placed.add(r); });
    items.forEach(function (it, n) {
      it.n = n;
      placed.add({ x1: it.pt.x - it.dot, x2: it.pt.x + it.dot, y1: it.pt.y - it.dot, y2: it.pt.y + it.dot, owner: n });
    });
    items.sort(function (a, b) { return a.prio - b.prio; });
    items.forEach(function (it) {
      if (!it.label) { return; }
      var w = it.w, h = it.h, gap = it.dot + 2;
      it.spot = null;
      for (var i = 0; i < LABEL_SPOTS.length; i++) {
        var side = LABEL_SPOTS[i][0], dy = LABEL_SPOTS[i][1] * (h + 1);
        var x1 = side > 0 ? it.pt.x + gap : it.pt.x - gap - w;
        var r = { x1: x1, x2: x1 + w, y1: it.pt.y - h / 2 + dy, y2: it.pt.y + h / 2 + dy, owner: it.n };
        if (!placed.overlaps(r)) {
          placed.add(r);
          it.spot = [side, dy];
          return;
        }
      }
    });
    items.forEach(function (it) {
      if (!it.label) { return; }
      if (it.spot === null) { it.el.classList.add("dm-nolabel"); return; }
      if (it.spot[0] < 0) { it.el.classList.add("dm-left"); }
      if (it.spot[1]) { it.label.style.marginTop = it.spot[1] + "px"; }
    });
  }

  // Rectangles in buckets of RECT_CELL pixels: a label is compared with its neighbours
  // only, not with every marker on the map.
  var RECT_CELL = 64;

  function RectIndex() { this.cells = {}; }

  RectIndex.prototype.each = function (r, fn) {
    var cx2 = Math.floor(r.x2 / RECT_CELL), cy2 = Math.floor(r.y2 / RECT_CELL);
    for (var cx = Math.floor(r.x1 / RECT_CELL); cx <= cx2; cx++) {
      for (var cy = Math.floor(r.y1 / RECT_CELL); cy <= cy2; cy++) {
        if (fn(cx + ":" + cy) === true) { return true; }
      }
    }
    return false;
  };

  RectIndex.prototype.add = function (r) {
    var cells = this.cells;
    this.each(r, function (key) { (cells[key] || (cells[key] = [])).push(r); });
  };

  RectIndex.prototype.overlaps = function (r) {
    var cells = this.cells;
    return this.each(r, function (key) { return cells[key] !== undefined && overlaps(r, cells[key]); });
  };

  /* ---------- the view: fill the pane, Chinese controls ---------- */

  var dataBounds = null;

  function fillPane() {
    // The least zoom at which the data covers the whole pane (not merely fits in it).
    var size = map.getSize();
    if (!dataBounds || size.x < 10 || size.y < 10) { return; }
    var cover = map.getBoundsZoom(dataBounds, true);
    map.setMinZoom(cover);
    if (map.getZoom() < cover || !map._loaded) {
      map.setView(dataBounds.getCenter(), cover, { animate: false });
    } else {
      map.panInsideBounds(dataBounds, { animate: false });
    }
  }

  function whenShown(fn) {
    // The next frame of a visible page: its size is the pane's, and its view laid out.
    function frame() { window.requestAnimationFrame(function () { map.invalidateSize(false); fn(); }); }
    if (!document.hidden) { frame(); return; }
    document.addEventListener("visibilitychange", function shown() {
      if (document.hidden) { return; }
      document.removeEventListener("visibilitychange", shown);
      frame();
    });
  }

  function translateControls() {
    var zin = document.querySelector(".leaflet-control-zoom-in");
    var zout = document.querySelector(".leaflet-control-zoom-out");
    if (zin) { zin.title = "放大"; zin.setAttribute("aria-label", "放大"); }
    if (zout) { zout.title = "缩小"; zout.setAttribute("aria-label", "缩小"); }
  }

  /* ---------- public API ---------- */

  var api = {
    init: function (leafletMap, config, data) {
      map = leafletMap;
      cfg = config || {};
      data = data || {};
      renderer = L.canvas({ padding: 0.5, tolerance: 4 });
      map.options.zoomSnap = 0.25;
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(
        cfg.attributionUrl ? '<a href="' + esc(cfg.attributionUrl) + '" target="_blank">' +
          esc(cfg.attribution) + "</a>" : esc(cfg.attribution));
      L.control.scale({ imperial: false, position: "bottomright", maxWidth: 160 }).addTo(map);
      // Tiles appear at once, not faded in over 200 ms: a pan shows its roads when drawn.
      map._fadeAnimated = false;
      ["roads", "grids", "stations", "routes", "tracks", "unitDots", "units", "incidents", "candidates", "pick"]
        .forEach(function (name) { layers[name] = L.layerGroup(); });
      Object.keys(layers).forEach(function (name) { if (name !== "roads") { layers[name].addTo(map); } });
      base = window.DispatchMapBase.draw(map, layers, data, esc, send);
      map.on("zoomend", function () { scheduleDeclutter(); });
      map.on("click", function (e) { api._emitClick(e.latlng.lng, e.latlng.lat); });
      translateControls();
      var b = cfg.bounds;
      if (b) {
        dataBounds = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
        if (!cfg.hasTiles) {
          // Only the bundled roads are drawn: never show the empty land around them. The
          // data covers the pane (at the least zoom), and views stay inside it.
          map.options.maxBoundsViscosity = 1.0;
          map.setMaxBounds(dataBounds);
          map.on("resize", fillPane);
          fillPane();
        } else {
          map.fitBounds(dataBounds, { padding: [10, 10], animate: false });
        }
      }
      layers.roads.addTo(map);  // once the view is set: no tiles asked for a view never shown
      map.on("moveend", cullUnits);
      cullUnits();
      if (typeof QWebChannel !== "undefined" && typeof qt !== "undefined" && qt.webChannelTransport) {
        new QWebChannel(qt.webChannelTransport, function (channel) {
          bridge = channel.objects.bridge;
          var roads = base.roads();
          roads.connected();
          api._drawnAgain();
        });
      }
    },
    setUnits: setUnits,
    upsertUnits: function (list) { upsertUnits(list, true); },
    removeUnits: removeUnits,
    showTrack: showTrack,
    clearTrack: clearTrack,
    setTracks: setTracks,
    setIncidents: setIncidents,
    upsertIncidents: function (list) { upsertIncidents(list); },
    removeIncidents: removeIncidents,
    setCandidates: setCandidates,
    highlightCandidate: highlightCandidate,
    setPickPoint: setPickPoint,
    clearPickPoint: clearPickPoint,
    showRoute: showRoute,
    clearRoutes: clearRoutes,
    focus: function (lon, lat, zoom) {
      // Programmatic moves jump (no animation): nothing to wait for, nothing to watch.
      // Near the edge of the drawn data the view stays inside it: the point is off centre
      // but the pane stays full of roads.
      if (zoom === null || zoom === undefined) { map.panTo(ll(lon, lat), { animate: false }); }
      else { map.setView(ll(lon, lat), zoom, { animate: false }); }
      if (dataBounds && !cfg.hasTiles) { map.panInsideBounds(dataBounds, { animate: false }); }
    },
    fitBounds: function (b) {
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [30, 30], maxZoom: 18, animate: false });
    },
    setGridsVisible: function (visible) {
      if (visible && !map.hasLayer(layers.grids)) { layers.grids.addTo(map); }
      if (!visible && map.hasLayer(layers.grids)) { map.removeLayer(layers.grids); }
    },
    _map: function () { return map; },
    _roads: function () { return base.roads(); },
    /* Python's answer to a "road_tiles" message: {"z/x/y": [roads, labels] (base64)}. */
    _roadTiles: function (tiles) { base.roads().receive(tiles); },
    _emitClick: function (lon, lat) {
      send({ type: "map_click", lon: lon, lat: lat });
    },
    _clickUnit: function (id) {
      var m = dotMode ? dots[String(id)] : units[String(id)];
      if (m) { m.fire("click"); }
    },
    _clickIncident: function (id) { var m = incidents[String(id)]; if (m) { m.fire("click"); } },
    _clickCandidate: function (index) { var m = candidates[String(index)]; if (m) { m.fire("click"); } },
    /* Ready once the roads of the first view are drawn on the shown page, with the page's
       size: the map is really there (a page loaded before its window was shown waits for
       it; Python asks again while the size is not yet the pane's). */
    _drawnAgain: function () {
      var roads = base.roads();
      function drawn() { send({ type: "ready", width: window.innerWidth, height: window.innerHeight }); }
      whenShown(function () {
        if (roads.isLoading()) { roads.once("load", drawn); } else { drawn(); }
      });
    },
    /* A snapshot for tests and diagnostics. */
    debugState: function () {
      function pos(m) { var p = m.getLatLng(); return { lon: p.lng, lat: p.lat }; }
      var roadStats = base.roads().stats();
      var out = { ready: !!bridge, zoom: map.getZoom(), roads: roadStats.runs, roadTiles: roadStats,
        roadTip: base.roadTip(),
        units: {}, incidents: {}, candidates: {}, routes: {}, pick: pick ? pos(pick) : null,
        highlighted: null, gridsVisible: map.hasLayer(layers.grids), unitDots: layers.unitDots.getLayers().length,
        stations: layers.stations.getLayers().length };
      Object.keys(units).forEach(function (id) {
        var m = units[id], p = pos(m), el = m.getElement();
        out.units[id] = { lon: p.lon, lat: p.lat, leafletId: L.stamp(m), status: m._dmUnit.status,
          alert: !!m._dmUnit.alert, inPage: !!el,
          cls: el && el.firstElementChild ? el.firstElementChild.className : unitClass(m._dmUnit),
          labelShown: !!el && !el.classList.contains("dm-nolabel") };
      });
      Object.keys(incidents).forEach(function (id) {
        var p = pos(incidents[id]);
        out.incidents[id] = { lon: p.lon, lat: p.lat, leafletId: L.stamp(incidents[id]) };
      });
      Object.keys(candidates).forEach(function (k) {
        out.candidates[k] = pos(candidates[k]);
        if (candidates[k] === highlighted) { out.highlighted = Number(k); }
      });
      Object.keys(routes).forEach(function (k) { out.routes[k] = routes[k].line.getLatLngs().length; });
      out.track = null;
      out.tracks = {};
      Object.keys(tracks).forEach(function (id) {
        var n = tracks[id].line.getLatLngs().length;
        out.tracks[id] = n;
        if (tracks[id].follow) { out.track = { unit: Number(id), points: n }; }
      });
      return out;
    }
  };

  window.dispatchMap = api;
})();
