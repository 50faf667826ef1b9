/* The map page's basemap: the road tiles (styled by road class, wider with zoom,
 * road names, named on hover), grids (网格), stations and the legend.
 * Used by dispatch_map.js: window.DispatchMapBase.draw(map, layers, data, esc, send).
 */
(function () {
  "use strict";

  var map = null, layers = null, esc = null;
  var roadLayer = null, roadTip = null, gridLayer = null, gridLabels = null;

  function ll(lon, lat) { return L.latLng(lat, lon); }

  // The roads: vector tiles from Python (dispatch_road_tiles.js), named on hover.
  function drawRoads(cfg, send) {
    roadLayer = window.DispatchRoadTiles.create(map, cfg, send);
    layers.roads.addLayer(roadLayer);
    roadTip = L.DomUtil.create("div", "leaflet-tooltip dm-road-tip dm-road-hover", map.getContainer());
    roadTip.style.display = "none";
    var pending = null, frame = false;
    function hover() {
      frame = false;
      if (!pending) { return; }
      var e = pending, road = roadLayer.roadAt(e.latlng);
      pending = null;
      if (road) {
        roadTip.textContent = road.name + (road.oneway ? " （单行）" : "");
        roadTip.style.left = (e.containerPoint.x + 12) + "px";
        roadTip.style.top = (e.containerPoint.y - 30) + "px";
        roadTip.style.display = "block";
      } else {
        roadTip.style.display = "none";
      }
    }
    // At most one look-up per frame, however fast the mouse moves.
    map.on("mousemove", function (e) {
      pending = e;
      if (!frame) { frame = true; window.requestAnimationFrame(hover); }
    });
    map.on("mouseout zoomstart movestart", function () { pending = null; roadTip.style.display = "none"; });
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
    draw: function (leafletMap, layerGroups, data, escape, send) {
      map = leafletMap; layers = layerGroups; esc = escape;
      drawRoads(data.roadTiles, send);
      drawGrids(data.grids);
      drawStations(data.stations);
      addLegend();
      return {
        roads: function () { return roadLayer; },
        roadTip: function () { return roadTip.style.display === "none" ? "" : roadTip.textContent; }
      };
    }
  };
})();
