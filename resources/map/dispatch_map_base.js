/* The map page's basemap: roads drawn from the bundled OSM data (styled by road
 * class, wider with zoom), road-name labels, grids (网格), stations and the legend.
 * Used by dispatch_map.js: window.DispatchMapBase.draw(map, layers, renderer, data, esc).
 */
(function () {
  "use strict";

  // Road styling by rank (dispatch.geo.basemap.HIGHWAY_RANK): [colour, base width].
  var ROAD_STYLE = {
    6: ["#a3b1c2", 6], 5: ["#8d9db1", 5], 4: ["#7f8fa2", 4],
    3: ["#657386", 3], 2: ["#525e6e", 2.4], 1: ["#465160", 2], 0: ["#3a4350", 1.4]
  };

  var map = null, layers = null, renderer = null, esc = null;
  var roadsLayer = null, labelMarkers = [], gridLayer = null, gridLabels = null;

  function ll(lon, lat) { return L.latLng(lat, lon); }

  function roadWeight(rank, zoom) {
    var base = (ROAD_STYLE[rank] || ROAD_STYLE[1])[1];
    var f = Math.max(0.6, Math.min(2.6, Math.pow(1.35, zoom - 15)));
    return base * f;
  }

  function drawRoads(roads) {
    roadsLayer = L.geoJSON(roads, {
      renderer: renderer,
      interactive: true,
      bubblingMouseEvents: true,
      style: function (f) {
        var rank = f.properties.rank;
        return {
          color: (ROAD_STYLE[rank] || ROAD_STYLE[1])[0], weight: roadWeight(rank, map.getZoom()),
          opacity: 1, lineCap: "round", lineJoin: "round"
        };
      },
      onEachFeature: function (f, layer) {
        if (f.properties.name) {
          layer.bindTooltip(esc(f.properties.name) + (f.properties.oneway ? " （单行）" : ""),
            { sticky: true, className: "dm-road-tip", direction: "top", offset: [0, -6] });
        }
      }
    }).addTo(layers.roads);
  }

  function restyleRoads() {
    if (!roadsLayer) { return; }
    var z = map.getZoom();
    roadsLayer.eachLayer(function (l) {
      l.setStyle({ weight: roadWeight(l.feature.properties.rank, z) });
    });
  }

  function drawLabels(labels) {
    labels.forEach(function (lab) {
      var icon = L.divIcon({
        className: "dm-road-label-icon",
        html: '<span class="dm-road-label r' + lab.rank + '" style="transform:translate(-50%,-50%) rotate(' +
          lab.angle + 'deg)">' + esc(lab.name) + "</span>",
        iconSize: [0, 0]
      });
      var m = L.marker(ll(lab.lon, lab.lat), { icon: icon, interactive: false, keyboard: false,
        pane: "dmRoadLabels" });
      m._dmRank = lab.rank;
      labelMarkers.push(m);
    });
    updateLabels();
  }

  function updateLabels() {
    var z = map.getZoom();
    // Arterials named from zoom 15, all named roads from zoom 17.
    var minRank = z >= 17 ? 0 : (z >= 16 ? 3 : (z >= 15 ? 5 : 99));
    labelMarkers.forEach(function (m) {
      var show = m._dmRank >= minRank;
      if (show && !layers.labels.hasLayer(m)) { layers.labels.addLayer(m); }
      if (!show && layers.labels.hasLayer(m)) { layers.labels.removeLayer(m); }
    });
  }

  function drawGrids(grids) {
    if (!grids || !grids.features) { return; }
    gridLayer = L.geoJSON(grids, {
      interactive: false,
      style: function () {
        return { color: "#4fc3f7", weight: 1.5, opacity: 0.55, dashArray: "6 6", fill: true,
          fillColor: "#4fc3f7", fillOpacity: 0.03 };
      }
    });
    gridLabels = L.layerGroup();
    gridLayer.eachLayer(function (l) {
      var p = l.feature.properties || {};
      var c = l.getBounds().getCenter();
      gridLabels.addLayer(L.marker(c, { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "dm-grid-label-icon", iconSize: [0, 0],
          html: '<span class="dm-grid-label">' + esc(p.name || p.id) + "</span>" }) }));
    });
    layers.grids.addLayer(gridLayer);
    layers.grids.addLayer(gridLabels);
  }

  function drawStations(stations) {
    (stations || []).forEach(function (s) {
      var m = L.marker(ll(s.lon, s.lat), { keyboard: false, zIndexOffset: -500,
        icon: L.divIcon({ className: "dm-station-icon", iconSize: [18, 18], iconAnchor: [9, 9],
          html: '<div class="dm-station">站</div>' }) });
      m.bindTooltip(esc(s.name) + (s.kind ? "（" + esc(s.kind) + "）" : ""),
        { direction: "top", offset: [0, -8], className: "dm-tip" });
      layers.stations.addLayer(m);
    });
  }

  function addLegend() {
    var legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "dm-legend");
      var rows = [
        ["available", "空闲"], ["dispatched", "已派 / 已签收"], ["en_route", "出发"],
        ["on_scene", "到场"], ["off_duty", "不在岗"], ["alert", "超时告警"]
      ];
      var html = '<div class="dm-legend-title">警力状态</div>';
      rows.forEach(function (r) {
        html += '<div class="dm-legend-row"><span class="dm-swatch st-' + r[0] + '"></span>' + r[1] + "</div>";
      });
      html += '<div class="dm-legend-row"><span class="dm-swatch-inc urgent">!</span>紧急警情</div>';
      html += '<div class="dm-legend-row"><span class="dm-swatch-inc">!</span>一般警情</div>';
      html += '<div class="dm-legend-row"><span class="dm-swatch-cand">1</span>候选地点</div>';
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
  }

  window.DispatchMapBase = {
    draw: function (leafletMap, layerGroups, canvasRenderer, data, escape) {
      map = leafletMap; layers = layerGroups; renderer = canvasRenderer; esc = escape;
      drawRoads(data.roads || { type: "FeatureCollection", features: [] });
      drawLabels(data.labels || []);
      drawGrids(data.grids);
      drawStations(data.stations);
      addLegend();
      return {
        onZoom: function () { restyleRoads(); updateLabels(); },
        roadCount: function () { return roadsLayer ? roadsLayer.getLayers().length : 0; }
      };
    }
  };
})();
