/* The roads of the map as vector tiles drawn on canvas (dispatch.geo.road_tiles):
 * a Leaflet GridLayer asks Python for the tiles of the view over the QWebChannel (one
 * message per batch), keeps the decoded tiles in memory and draws each 256-pixel tile
 * with the road styles of the zoom, one-way arrows and road names. Zooms deeper than
 * the data's deepest draw that tile's data scaled (still vectors: sharp).
 * window.DispatchRoadTiles.create(map, cfg, send, esc) -> the layer (added to the map).
 */
(function () {
  "use strict";

  // Road styling by rank (dispatch.geo.basemap.HIGHWAY_RANK): [colour, base width].
  var ROAD_STYLE = {
    6: ["#a3b1c2", 6], 5: ["#8d9db1", 5], 4: ["#7f8fa2", 4],
    3: ["#657386", 3], 2: ["#525e6e", 2.4], 1: ["#465160", 2], 0: ["#3a4350", 1.4]
  };
  var LABEL_STYLE = { 6: ["#c9d4df", "600 13px"], 5: ["#c9d4df", "600 13px"], 4: ["#b3bfcb", "12px"] };
  var LABEL_DEFAULT = ["#9eabb9", "12px"];
  var FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';
  var ARROW_MIN_ZOOM = 16, ARROW_EVERY_PX = 110, CACHE_TILES = 4000, ROUND_JOIN_PX = 4;
  var CULL_PAD_PX = 8;  // data px around a canvas's part of its data tile (half the widest road)
  var EMPTY = new Int16Array(0);
  var EMPTY_TILE = { roads: EMPTY, labels: EMPTY, runs: 0 };

  function roadWeight(rank, zoom) {
    var base = (ROAD_STYLE[rank] || ROAD_STYLE[1])[1];
    return base * Math.max(0.6, Math.min(2.6, Math.pow(1.35, zoom - 15)));
  }

  // The display zoom whose label set is drawn (dispatch.geo.road_tiles.label_zoom_masks:
  // decided and decluttered at integer zooms 15..19; a fractional zoom draws its floor's,
  // whose labels are only further apart); -1: no labels.
  function labelZoomBit(z) { var zi = Math.floor(z + 1e-6); return zi < 15 ? -1 : Math.min(zi, 19) - 15; }

  function decode(b64) {
    if (!b64) { return EMPTY; }
    var s = atob(b64), n = s.length, bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) { bytes[i] = s.charCodeAt(i); }
    return new Int16Array(bytes.buffer);
  }

  function create(map, cfg, send) {
    var ext = cfg.extent, maxData = cfg.maxZoom, names = cfg.names || [];
    var cache = new Map(), waiting = {}, queued = [], flushPending = false, connected = false;
    var pre = new Map(), preZoom = cfg.preloadZoom === undefined ? -1 : cfg.preloadZoom;  // in the page
    var pool = [], POOL_MAX = 64, owners = 0, bitmaps = new Map(), BITMAPS = 160, keepBitmaps = true;
    var stats = { requested: 0, received: 0, drawn: 0, tilesDrawn: 0, drawMs: 0, reused: 0 };

    // The data tile a display tile draws from, and where in it: scale f, offset (data px).
    function source(c) {
      var dz = Math.min(c.z, maxData), k = c.z - dz, f = 1 << k;
      return { key: dz + "/" + (c.x >> k) + "/" + (c.y >> k), f: f, dz: dz,
        ox: (c.x - ((c.x >> k) << k)) * 256 / f, oy: (c.y - ((c.y >> k) << k)) * 256 / f };
    }

    // z: the map's zoom (fractional); q: screen px per tile px at that zoom (the tile's
    // level is scaled by 2^(zoom - tile zoom)): widths and text are drawn 1/q as large.
    // Each run is stroked on its own: one path of a whole rank (a city's street mesh) costs
    // Chromium's software rasteriser ~15 % more than the same lines as small paths. Round
    // joins and caps only where a road is wide enough on screen for them to show: a round
    // join adds edges at every vertex, ~10 % of the raster (bench map, CDP trace).
    // Deeper than the data (s.f > 1) a canvas shows part of its data tile: the runs
    // wholly outside that part are not drawn at all.
    function drawRoads(ctx, data, z, q, s) {
      var roads = data.roads, i = 0, n = roads.length, rank = -1, arrows = [], every = ARROW_EVERY_PX / q;
      var box = s.f > 1 ? runBoxes(data) : null, k = -4, pad = CULL_PAD_PX * ext;
      var x0c = s.ox * ext - pad, y0c = s.oy * ext - pad, x1c = (s.ox + 256 / s.f) * ext + pad;
      var y1c = (s.oy + 256 / s.f) * ext + pad;
      while (i < n) {
        var style = roads[i], count = roads[i + 3], r = style >> 1;
        k += 4;
        if (box && (box[k] > x1c || box[k + 2] < x0c || box[k + 1] > y1c || box[k + 3] < y0c)) {
          i += 4 + 2 * count;
          continue;
        }
        if (r !== rank) {
          rank = r;
          var w = roadWeight(r, z), round = w >= ROUND_JOIN_PX;
          ctx.strokeStyle = (ROAD_STYLE[r] || ROAD_STYLE[1])[0];
          ctx.lineWidth = w / q;
          ctx.lineJoin = round ? "round" : "miter";
          ctx.lineCap = round ? "round" : "butt";
        }
        var p = i + 4;
        var x0 = (roads[p] / ext - s.ox) * s.f, y0 = (roads[p + 1] / ext - s.oy) * s.f;
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        var oneway = (style & 1) && z >= ARROW_MIN_ZOOM, walked = every / 2;
        for (var j = 1; j < count; j++) {
          var x1 = (roads[p + 2 * j] / ext - s.ox) * s.f, y1 = (roads[p + 2 * j + 1] / ext - s.oy) * s.f;
          ctx.lineTo(x1, y1);
          if (oneway) {
            var len = Math.hypot(x1 - x0, y1 - y0);
            while (walked < len) {
              var t = walked / len;
              arrows.push([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, Math.atan2(y1 - y0, x1 - x0), r]);
              walked += every;
            }
            walked -= len;
          }
          x0 = x1; y0 = y1;
        }
        ctx.stroke();
        i = p + 2 * count;
        stats.drawn++;
      }
      if (arrows.length) {
        ctx.lineJoin = "round";
        ctx.lineCap = "round";
        ctx.beginPath();
        arrows.forEach(function (a) {
          var w = Math.max(2.5, roadWeight(a[3], z) * 0.35) / q, ca = Math.cos(a[2]), sa = Math.sin(a[2]);
          ctx.moveTo(a[0] - w * ca + w * sa, a[1] - w * sa - w * ca);
          ctx.lineTo(a[0] + w * ca, a[1] + w * sa);
          ctx.lineTo(a[0] - w * ca - w * sa, a[1] - w * sa + w * ca);
        });
        ctx.strokeStyle = "#c4d0dc";
        ctx.lineWidth = 1.4 / q;
        ctx.stroke();
      }
    }

    // Per run [min x, min y, max x, max y] in tile units, made the first time it is needed.
    function runBoxes(data) {
      if (data.box) { return data.box; }
      var roads = data.roads, box = new Int16Array(4 * data.runs), i = 0, k = 0;
      while (i < roads.length) {
        var count = roads[i + 3], p = i + 4, a = roads[p], b = roads[p + 1], c = a, d = b;
        for (var j = 1; j < count; j++) {
          var x = roads[p + 2 * j], y = roads[p + 2 * j + 1];
          if (x < a) { a = x; } else if (x > c) { c = x; }
          if (y < b) { b = y; } else if (y > d) { d = y; }
        }
        box[k] = a; box[k + 1] = b; box[k + 2] = c; box[k + 3] = d;
        k += 4;
        i = p + 2 * count;
      }
      data.box = box;
      return box;
    }

    function drawLabels(ctx, labels, z, q, s) {
      var bit = labelZoomBit(z);
      if (bit < 0) { return; }
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      if ("letterSpacing" in ctx) { ctx.letterSpacing = (1 / q) + "px"; }
      ctx.lineJoin = "round";
      for (var i = 0; i + 5 < labels.length; i += 6) {
        var rank = labels[i + 5] & 7;
        if (!((labels[i + 5] >> 3) & (1 << bit))) { continue; }
        var name = names[labels[i] * 32768 + labels[i + 1] - 1];
        if (!name) { continue; }
        var st = LABEL_STYLE[rank] || LABEL_DEFAULT;
        ctx.save();
        ctx.translate((labels[i + 2] / ext - s.ox) * s.f, (labels[i + 3] / ext - s.oy) * s.f);
        ctx.rotate(labels[i + 4] / 10 * Math.PI / 180);
        ctx.scale(1 / q, 1 / q);
        ctx.font = st[1] + " " + FONT;
        ctx.strokeStyle = "#0b0f14";
        ctx.lineWidth = 3.5;
        ctx.strokeText(name, 0, 0);
        ctx.fillStyle = st[0];
        ctx.fillText(name, 0, 0);
        ctx.restore();
      }
    }

    function draw(canvas, c, data) {
      var s = source(c), r = canvas._dmRatio, ctx = canvas.getContext("2d");
      var z = map.getZoom(), q = Math.pow(2, z - c.z), t0 = performance.now();
      ctx.setTransform(r, 0, 0, r, 0, 0);
      ctx.clearRect(0, 0, 256, 256);
      ctx.miterLimit = 2;  // a sharp turn of a narrow road: bevelled, never a spike
      drawRoads(ctx, data, z, q, s);
      drawLabels(ctx, data.labels, z, q, s);
      canvas._dmRuns = data.runs;
      canvas._dmData = data;
      canvas._dmZoom = z;
      stats.tilesDrawn++;
      stats.drawMs += performance.now() - t0;
    }

    // A zoom within the same tile zoom (fractional steps) keeps the tiles and scales
    // them: draw them again so that widths and text keep their size on screen.
    function redrawScaled() {
      if (!layer._map) { return; }
      var z = map.getZoom();
      Object.keys(layer._tiles).forEach(function (k) {
        var t = layer._tiles[k];
        if (t.el._dmData && t.el._dmZoom !== z) { draw(t.el, t.coords, t.el._dmData); }
      });
    }

    function countRuns(roads) {
      var i = 0, n = 0;
      while (i < roads.length) { i += 4 + 2 * roads[i + 3]; n++; }
      return n;
    }

    function flush() {
      flushPending = false;
      if (!connected || !queued.length) { return; }
      stats.requested += queued.length;
      send({ type: "road_tiles", keys: queued });
      queued = [];
    }

    function request(key) {
      queued.push(key);
      if (!flushPending) { flushPending = true; Promise.resolve().then(flush); }
    }

    var Layer = L.GridLayer.extend({
      createTile: function (c, done) {
        var s = source(c), drawnKey = c.x + ":" + c.y + ":" + c.z + "@" + map.getZoom();
        var tile = bitmaps.get(drawnKey);
        if (tile) {  // drawn before at this zoom: shown as it is
          bitmaps.delete(drawnKey);
          tile._dmOwner = ++owners;
          stats.reused++;
          Promise.resolve().then(function () { done(null, tile); });
          return tile;
        }
        var size = this.getTileSize(), r = window.devicePixelRatio || 1;
        tile = pool.pop();  // the canvas of a tile gone: no new allocation
        if (!tile || tile.width !== size.x * r) {
          tile = L.DomUtil.create("canvas", "dm-road-tile");
          tile.width = size.x * r;
          tile.height = size.y * r;
        } else {
          tile.getContext("2d").clearRect(0, 0, tile.width, tile.height);
        }
        tile._dmRatio = r;
        tile._dmData = null;
        tile._dmOwner = ++owners;
        // a zoom written into the page whole: a tile it has not is empty
        var data = cache.get(s.key) || pre.get(s.key) || (s.dz <= preZoom ? EMPTY_TILE : null);
        if (data) {
          if (cache.has(s.key)) {
            cache.delete(s.key);  // least recently used goes first
            cache.set(s.key, data);
          }
          draw(tile, c, data);
          Promise.resolve().then(function () { done(null, tile); });
        } else {
          var first = !waiting[s.key];
          (waiting[s.key] = waiting[s.key] || []).push({ tile: tile, owner: tile._dmOwner,
            c: { x: c.x, y: c.y, z: c.z }, done: done });
          if (first) { request(s.key); }
        }
        return tile;
      }
    });

    var layer = new Layer({ minNativeZoom: cfg.minZoom, minZoom: 0, maxZoom: 22,
      updateWhenZooming: false, keepBuffer: 1, className: "dm-roads" });
    map.on("zoomend", redrawScaled);
    // A tile that leaves the view keeps its pixels (up to BITMAPS of them, least recently
    // used dropped first): coming back to a place shows it without drawing it again.
    layer.on("tileunload", function (e) {
      var t = e.tile;
      if (t._dmData && keepBitmaps) {
        bitmaps.set(e.coords.x + ":" + e.coords.y + ":" + e.coords.z + "@" + t._dmZoom, t);
        if (bitmaps.size <= BITMAPS) { return; }
        var oldest = bitmaps.keys().next().value;
        t = bitmaps.get(oldest);
        bitmaps.delete(oldest);
      }
      if (pool.length < POOL_MAX) { pool.push(t); }
    });

    layer.receive = function (tiles) {
      Object.keys(tiles).forEach(function (key) {
        var roads = decode(tiles[key][0]);
        var data = { roads: roads, labels: decode(tiles[key][1]), runs: countRuns(roads) };
        stats.received++;
        cache.set(key, data);
        (waiting[key] || []).forEach(function (w) {
          if (w.tile._dmOwner !== w.owner) { return; }  // gone meanwhile, its canvas reused
          draw(w.tile, w.c, data);
          w.done(null, w.tile);
        });
        delete waiting[key];
      });
      while (cache.size > CACHE_TILES) { cache.delete(cache.keys().next().value); }
    };
    layer.connected = function () { connected = true; flush(); };
    layer.stats = function () {
      var shown = 0, runs = 0;
      Object.keys(layer._map ? layer._tiles : {}).forEach(function (k) {
        var t = layer._tiles[k];
        if (t.loaded && t.current) { shown++; runs += t.el._dmRuns || 0; }
      });
      return { shown: shown, runs: runs, cached: cache.size, preloaded: pre.size, requested: stats.requested,
        received: stats.received, drawn: stats.drawn, tilesDrawn: stats.tilesDrawn, reused: stats.reused,
        drawMs: Math.round(stats.drawMs) };
    };
    // Bench and tests: forget the tiles' data and pixels; keep no pixels (every tile drawn).
    layer.clearCache = function () { cache.clear(); bitmaps.clear(); };
    layer.keepBitmaps = function (on) { keepBitmaps = !!on; if (!on) { bitmaps.clear(); } };

    // The road under the mouse, named in a tooltip (as the GeoJSON roads were).
    layer.roadAt = function (latlng) {
      var z = layer._tileZoom;
      if (!layer._map || z === undefined) { return null; }
      var p = map.project(latlng, z), c = { x: Math.floor(p.x / 256), y: Math.floor(p.y / 256), z: z };
      var t = layer._tiles[c.x + ":" + c.y + ":" + z], data = t && t.el._dmData;
      if (!data) { return null; }
      var s = source(c), px = p.x - c.x * 256, py = p.y - c.y * 256, roads = data.roads;
      var best = null, bestD = Infinity, i = 0;
      while (i < roads.length) {
        var style = roads[i], count = roads[i + 3], q = i + 4, r = style >> 1;
        var name = names[roads[i + 1] * 32768 + roads[i + 2] - 1];
        var reach = (roadWeight(r, map.getZoom()) / 2 + 3) / Math.pow(2, map.getZoom() - z);
        for (var j = 0; name && j + 1 < count; j++) {
          var ax = (roads[q + 2 * j] / ext - s.ox) * s.f, ay = (roads[q + 2 * j + 1] / ext - s.oy) * s.f;
          var bx = (roads[q + 2 * j + 2] / ext - s.ox) * s.f, by = (roads[q + 2 * j + 3] / ext - s.oy) * s.f;
          var dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
          var tt = l2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
          var d = Math.hypot(px - ax - tt * dx, py - ay - tt * dy);
          if (d <= reach && d < bestD) { bestD = d; best = { name: name, oneway: !!(style & 1), rank: r }; }
        }
        i = q + 2 * count;
      }
      return best;
    };
    Object.keys(cfg.preload || {}).forEach(function (key) {  // kept for good, never asked for
      var roads = decode(cfg.preload[key][0]);
      pre.set(key, { roads: roads, labels: decode(cfg.preload[key][1]), runs: countRuns(roads) });
    });
    return layer;
  }

  window.DispatchRoadTiles = { create: create, roadWeight: roadWeight };
})();
