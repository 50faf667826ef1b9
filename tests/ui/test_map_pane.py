"""MapPane through a real QWebEngineView (offscreen): offline page, JS API,
queued calls, clicks back through the QWebChannel bridge."""
from __future__ import annotations

import os

# Must be set before a QApplication exists (the lead may move this to conftest.py).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt, QUrl  # noqa: E402

from dispatch.geo.basemap import build_basemap  # noqa: E402
from dispatch.geo.osm import read_osm  # noqa: E402
from ui.map.bridge import MapBridge  # noqa: E402
from ui.map.map_pane import MapPane  # noqa: E402
from tests.ui.map_support import js  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO_OSM = ROOT / "resources" / "demo" / "shanghai-huangpu.osm"
READY_MS = 20000


@pytest.fixture(scope="module")
def basemap() -> dict:
    bm = build_basemap(read_osm(DEMO_OSM))
    min_lon, min_lat, max_lon, max_lat = bm["bounds"]
    mid = (min_lon + max_lon) / 2
    bm["grids"] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": 1, "name": "网格一"}, "geometry": {
            "type": "Polygon", "coordinates": [[[min_lon, min_lat], [mid, min_lat], [mid, max_lat],
                                                [min_lon, max_lat], [min_lon, min_lat]]]}}]}
    bm["stations"] = [{"name": "南京东路派出所", "kind": "派出所", "lon": 121.4795, "lat": 31.2375}]
    return bm


@pytest.fixture
def make_pane(qtbot, basemap, tmp_path):
    """Build shown MapPanes; delete them at teardown (a QWebEnginePage must be gone
    before its profile is released, or Qt WebEngine complains at exit)."""
    panes: list[MapPane] = []

    def make(tile_url: str | None = None) -> MapPane:
        pane = MapPane(basemap, tmp_path / f"cache{len(panes)}", tile_url=tile_url)
        pane.resize(900, 700)
        pane.show()
        panes.append(pane)
        return pane

    yield make
    for pane in panes:
        pane.close()
        pane.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def pane(qtbot, make_pane) -> MapPane:
    pane = make_pane()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    return pane


def state(qtbot, pane: MapPane) -> dict:
    return js(qtbot, pane, "dispatchMap.debugState()")


def unit(uid: int, lon: float, lat: float, status: str = "available", alert: bool = False) -> dict:
    return {"id": uid, "callsign": f"黄浦{uid:02d}", "kind": "patrol_car", "status": status,
            "lon": lon, "lat": lat, "label": f"黄浦{uid:02d} 巡逻警车", "alert": alert}


def test_page_is_rendered_offline(pane, basemap):
    html = pane.page_path.read_text(encoding="utf-8")
    urls = re.findall(r"https?://[^\s\"'<>)]+", html)
    # The only web address on the page is the attribution link's target.
    assert set(urls) <= {basemap["attribution_url"]}
    assert "OpenStreetMap" in html
    for name in ("leaflet.js", "leaflet.css", "qwebchannel.js", "dispatch_map.js", "dispatch_map_base.js",
                 "dispatch_road_tiles.js", "dispatch_map.css", "dispatch_basemap.js"):
        assert (pane.page_path.parent / name).is_file()
    assert pane.blocked_requests == []
    requested = pane.requested_urls
    assert requested, "the interceptor saw no request at all"
    for url in requested:
        qurl = QUrl(url)
        assert qurl.isLocalFile(), url
        assert Path(qurl.toLocalFile()).is_file(), f"missing resource {url}"
    errors = [m for m in pane.console_messages if m[0] == "error"]
    assert errors == []


def test_basemap_drawn_with_attribution_scale_and_legend(qtbot, pane, basemap):
    st = state(qtbot, pane)
    assert st["ready"] is True
    # Ready means the roads of the first view are drawn: every tile of it, with roads.
    tiles = st["roadTiles"]
    assert tiles["shown"] >= 6 and tiles["preloaded"] >= tiles["shown"] and tiles["requested"] == 0
    assert st["roads"] > 300
    assert not js(qtbot, pane, "dispatchMap._roads().isLoading()")
    assert st["stations"] == 1 and st["gridsVisible"] is True
    dom = js(qtbot, pane, "[document.querySelector('.leaflet-control-attribution').textContent,"
                          " !!document.querySelector('.leaflet-control-scale'),"
                          " document.querySelector('.dm-legend').textContent]")
    assert "© OpenStreetMap contributors (ODbL)" in dom[0]
    assert dom[1] is True
    assert "空闲" in dom[2] and "到场" in dom[2]
    pane.set_grids_visible(False)
    assert state(qtbot, pane)["gridsVisible"] is False
    pane.set_grids_visible(True)
    assert state(qtbot, pane)["gridsVisible"] is True


def test_units_are_updated_in_place(qtbot, pane):
    pane.set_units([unit(1, 121.470, 31.230), unit(2, 121.475, 31.232, "en_route"),
                    unit(3, 121.480, 31.228, "off_duty")])
    first = state(qtbot, pane)["units"]
    assert set(first) == {"1", "2", "3"}
    assert (first["1"]["lon"], first["1"]["lat"]) == pytest.approx((121.470, 31.230))
    assert "st-available" in first["1"]["cls"]

    pane.set_units([unit(1, 121.472, 31.231, "dispatched", alert=True),
                    unit(2, 121.476, 31.233, "on_scene")])
    second = state(qtbot, pane)["units"]
    assert set(second) == {"1", "2"}  # full replace: unit 3 is gone
    for uid in ("1", "2"):
        assert second[uid]["leafletId"] == first[uid]["leafletId"]  # same marker, moved
    assert (second["1"]["lon"], second["1"]["lat"]) == pytest.approx((121.472, 31.231))
    assert (second["2"]["lon"], second["2"]["lat"]) == pytest.approx((121.476, 31.233))
    assert second["1"]["status"] == "dispatched" and second["1"]["alert"] is True
    assert "alert" in second["1"]["cls"] and "st-dispatched" in second["1"]["cls"]
    assert "st-on_scene" in second["2"]["cls"]

    # A unit without a position is left off the map; the others still update.
    nowhere = unit(4, 0, 0) | {"lon": None, "lat": None}
    pane.set_units([unit(1, 121.473, 31.231), nowhere])
    third = state(qtbot, pane)["units"]
    assert set(third) == {"1"} and third["1"]["lon"] == pytest.approx(121.473)


def test_incidents_candidates_pick_point_and_routes(qtbot, pane):
    pane.set_incidents([{"id": 7, "status": "pending", "priority": "urgent", "lon": 121.475,
                         "lat": 31.234, "label": "#7 打架斗殴"}])
    pane.set_candidates([{"index": i, "name": f"候选{i}", "lon": 121.47 + i * 0.002,
                          "lat": 31.23, "label": f"候选{i}"} for i in range(3)])
    pane.highlight_candidate(1)
    pane.set_pick_point(121.471, 31.231, "手选点")
    pane.show_route("u1", [[121.470, 31.230], [121.472, 31.232], [121.475, 31.234]], "4分钟")
    st = state(qtbot, pane)
    assert list(st["incidents"]) == ["7"]
    assert set(st["candidates"]) == {"0", "1", "2"} and st["highlighted"] == 1
    assert st["pick"] == pytest.approx({"lon": 121.471, "lat": 31.231})
    assert st["routes"] == {"u1": 3}
    numbers = js(qtbot, pane, "Array.from(document.querySelectorAll('.dm-cand-num')).map(e => e.textContent)")
    assert numbers == ["1", "2", "3"]
    urgent = js(qtbot, pane, "document.querySelectorAll('.dm-incident.urgent').length")
    assert urgent == 1

    pane.show_route("u1", [[121.470, 31.230], [121.475, 31.234]], "3分钟")  # same key: redrawn
    pane.clear_pick_point()
    pane.set_candidates([])
    st = state(qtbot, pane)
    assert st["routes"] == {"u1": 2} and st["pick"] is None and st["candidates"] == {}
    pane.clear_routes()
    assert state(qtbot, pane)["routes"] == {}


def test_focus_and_fit_bounds(qtbot, pane, basemap):
    pane.focus(121.476, 31.232, 17)
    st = state(qtbot, pane)
    assert st["zoom"] == 17
    center = js(qtbot, pane, "(function(){var c = dispatchMap._map().getCenter(); return [c.lng, c.lat];})()")
    assert center == pytest.approx([121.476, 31.232], abs=1e-6)
    pane.fit_bounds(basemap["bounds"])
    assert state(qtbot, pane)["zoom"] < 17


def test_calls_before_ready_are_queued_in_order(qtbot, make_pane):
    pane = make_pane()
    assert not pane.is_ready
    pane.set_units([unit(1, 121.470, 31.230)])
    pane.set_units([unit(1, 121.471, 31.231), unit(2, 121.475, 31.232)])  # the later call wins
    pane.set_candidates([{"index": 0, "name": "甲", "lon": 121.47, "lat": 31.23, "label": "甲"}])
    pane.highlight_candidate(0)
    box: list = []
    pane.evaluate("JSON.stringify(dispatchMap.debugState())", box.append)
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    st = json.loads(box[0])
    assert set(st["units"]) == {"1", "2"}
    assert (st["units"]["1"]["lon"], st["units"]["1"]["lat"]) == pytest.approx((121.471, 31.231))
    assert st["highlighted"] == 0


def test_map_click_arrives_as_signal(qtbot, pane):
    with qtbot.waitSignal(pane.map_clicked, timeout=5000) as blocker:
        pane.evaluate("dispatchMap._emitClick(121.4731, 31.2302)")
    assert blocker.args == pytest.approx([121.4731, 31.2302])


def test_real_mouse_click_on_the_map(qtbot, pane):
    pane.focus(121.476, 31.232, 16)
    x, y = js(qtbot, pane, "(function(){var p = dispatchMap._map().latLngToContainerPoint([31.2325, 121.4765]);"
                           " return [p.x, p.y];})()")
    target = pane.view.focusProxy() or pane.view
    with qtbot.waitSignal(pane.map_clicked, timeout=5000) as blocker:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    lon, lat = blocker.args
    assert lon == pytest.approx(121.4765, abs=5e-5) and lat == pytest.approx(31.2325, abs=5e-5)


def test_marker_clicks_arrive_as_signals(qtbot, pane):
    pane.set_units([unit(5, 121.47, 31.23)])
    pane.set_incidents([{"id": 9, "status": "pending", "priority": "normal", "lon": 121.475,
                         "lat": 31.234, "label": "#9"}])
    pane.set_candidates([{"index": 4, "name": "乙", "lon": 121.472, "lat": 31.231, "label": "乙"}])
    with qtbot.waitSignal(pane.unit_clicked, timeout=5000) as b1:
        pane.evaluate("dispatchMap._clickUnit(5)")
    with qtbot.waitSignal(pane.incident_clicked, timeout=5000) as b2:
        pane.evaluate("dispatchMap._clickIncident(9)")
    with qtbot.waitSignal(pane.candidate_clicked, timeout=5000) as b3:
        pane.evaluate("dispatchMap._clickCandidate(4)")
    assert (b1.args, b2.args, b3.args) == ([5], [9], [4])


def test_local_tile_server_is_the_only_network_origin_allowed(qtbot, make_pane):
    tiles = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # nothing listens on port 9
    pane = make_pane(tile_url=tiles)
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    assert "127.0.0.1:9/tiles/" in pane.page_path.read_text(encoding="utf-8")
    qtbot.waitUntil(lambda: any("127.0.0.1:9/tiles/" in u for u in pane.requested_urls), timeout=5000)
    pane.evaluate("fetch('http://example.invalid/x.png').catch(function () {})")
    qtbot.waitUntil(lambda: pane.blocked_requests != [], timeout=5000)
    assert pane.blocked_requests == ["http://example.invalid/x.png"]


def test_map_comes_back_with_its_state_after_a_renderer_crash(qtbot, pane):
    pane.set_units([unit(1, 121.470, 31.230), unit(2, 121.475, 31.232, "en_route")])
    pane.set_units([unit(2, 121.476, 31.233, "on_scene")])
    pane.show_route("u2", [[121.470, 31.230], [121.476, 31.233]], "2分钟")
    pane.set_pick_point(121.471, 31.231, "手选点")
    pane.clear_pick_point()
    pane.focus(121.476, 31.232, 17)
    assert state(qtbot, pane)["zoom"] == 17
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pane._page.setUrl(QUrl("chrome://crash"))
    st = state(qtbot, pane)
    assert set(st["units"]) == {"2"} and st["units"]["2"]["status"] == "on_scene"
    assert st["routes"] == {"u2": 2} and st["pick"] is None and st["zoom"] == 17


def test_bridge_ignores_malformed_messages(qtbot):
    bridge = MapBridge()
    got: list = []
    bridge.map_clicked.connect(lambda lon, lat: got.append((lon, lat)))
    for bad in ("not json", "[]", '{"type": "map_click"}', '{"type": "nope"}'):
        bridge.send(bad)
    bridge.send('{"type": "map_click", "lon": 121.5, "lat": 31.2}')
    assert got == [(121.5, 31.2)]


def test_demo_map_fills_its_pane_and_stays_on_the_roads(qtbot, make_pane, basemap):
    """Review finding 13: the demo roads filled only the middle of the pane, and centred
    on an incident near their edge half the pane was empty. Finding 11: 'Zoom in'."""
    pane = make_pane()
    pane.resize(780, 1000)
    qtbot.waitUntil(lambda: pane.is_ready, timeout=READY_MS)
    min_lon, min_lat, max_lon, max_lat = basemap["bounds"]
    view = "(function(){var m=dispatchMap._map(), b=m.getBounds(); return {w:b.getWest(),e:b.getEast()," \
           "s:b.getSouth(),n:b.getNorth(),zin:document.querySelector('.leaflet-control-zoom-in').title," \
           "zout:document.querySelector('.leaflet-control-zoom-out').title};})()"

    def inside(v):
        eps = 5e-5  # a pixel or two of rounding
        return (v["w"] >= min_lon - eps and v["e"] <= max_lon + eps and v["s"] >= min_lat - eps
                and v["n"] <= max_lat + eps)
    v = js(qtbot, pane, view)
    assert inside(v), (v, basemap["bounds"])                   # the pane is all drawn data
    assert (v["zin"], v["zout"]) == ("放大", "缩小")
    pane.focus(min_lon + 0.0005, min_lat + 0.0005)            # an incident in the south-west corner
    qtbot.waitUntil(lambda: inside(js(qtbot, pane, view)), timeout=3000)
    pane.resize(500, 1000)                                     # a narrower pane: still filled
    qtbot.waitUntil(lambda: inside(js(qtbot, pane, view)), timeout=3000)


def _road_point(basemap: dict, name: str) -> tuple[float, float, bool]:
    """The middle of the longest segment of a named road, and whether it is one-way."""
    best = None
    for f in basemap["roads"]["features"]:
        if f["properties"]["name"] != name:
            continue
        c = f["geometry"]["coordinates"]
        for a, b in zip(c, c[1:]):
            length = abs(a[0] - b[0]) + abs(a[1] - b[1])
            if best is None or length > best[0]:
                best = (length, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2, f["properties"]["oneway"])
    assert best is not None, name
    return best[1], best[2], best[3]


@pytest.mark.parametrize("name", ["西藏中路", "福州路"])
def test_road_named_under_the_mouse(qtbot, pane, basemap, name):
    """The tiles are canvases: the road under a real mouse move is found in the tile
    data and named, with （单行） on a one-way road, as the GeoJSON roads' tooltips did."""
    lon, lat, oneway = _road_point(basemap, name)
    pane.focus(lon, lat, 18)
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    x, y = js(qtbot, pane, f"(function(){{var p = dispatchMap._map().latLngToContainerPoint([{lat}, {lon}]);"
                           " return [p.x, p.y];})()")
    target = pane.view.focusProxy() or pane.view
    want = name + (" （单行）" if oneway else "")

    def named() -> bool:
        for d in (30, 15, 0):  # the mouse comes to the road from aside
            qtbot.mouseMove(target, QPoint(round(x) + d, round(y) + d))
            qtbot.wait(30)
        return state(qtbot, pane)["roadTip"] == want
    qtbot.waitUntil(named, timeout=5000)
    road = js(qtbot, pane, f"dispatchMap._roads().roadAt(L.latLng({lat}, {lon}))")
    assert road["name"] == name and road["oneway"] is oneway


def test_demo_road_tiles_are_in_the_page(qtbot, pane):
    """The demo's few tiles are written into the page: no view asks Python for any."""
    for dx in (600, -1200, 600):
        pane.evaluate(f"dispatchMap._map().panBy([{dx}, 300], {{animate: false}})")
        qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    st = state(qtbot, pane)["roadTiles"]
    assert st["requested"] == 0 and st["shown"] >= 6 and st["runs"] > 300


def test_road_tiles_come_over_the_bridge_once(qtbot, make_pane, monkeypatch):
    """A big tile set (a city's) stays in Python: tiles are asked for as the view moves,
    in batches; a view seen before needs none."""
    import ui.map.page
    monkeypatch.setattr(ui.map.page, "PRELOAD_BYTES", 0)
    pane = make_pane()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    before = state(qtbot, pane)["roadTiles"]
    assert before["requested"] > 0 and before["received"] == before["requested"]
    pane.evaluate("dispatchMap._map().panBy([600, 0], {animate: false})")
    qtbot.waitUntil(lambda: state(qtbot, pane)["roadTiles"]["requested"] > before["requested"], timeout=5000)
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    moved = state(qtbot, pane)["roadTiles"]
    assert moved["received"] == moved["requested"]
    pane.evaluate("dispatchMap._map().panBy([-600, 0], {animate: false})")
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    back = state(qtbot, pane)["roadTiles"]
    assert back["requested"] == moved["requested"]  # nothing asked again
    assert back["shown"] >= 6


def _lit_share(pane, qtbot) -> float:
    """Share of the pane's pixels clearly brighter than the dark background."""
    image = pane.grab().toImage()
    w, h = image.width(), image.height()
    lit = total = 0
    for y in range(0, h, 4):
        for x in range(0, w, 4):
            c = image.pixelColor(x, y)
            total += 1
            lit += (c.red() + c.green() + c.blue()) > 3 * 50
    return lit / total


def test_roads_are_painted_and_gone_without_their_layer(qtbot, pane):
    """Real pixels: the roads cover a good part of the demo view; without the road layer
    (the bench's peer) only the controls and the legend are lit."""
    pane.focus(121.4755, 31.2330, 16)
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    qtbot.wait(300)
    with_roads = _lit_share(pane, qtbot)
    pane.evaluate("dispatchMap._map().removeLayer(dispatchMap._roads())")
    qtbot.wait(300)
    without = _lit_share(pane, qtbot)
    assert with_roads > 0.08 and without < with_roads / 3, (with_roads, without)


def test_a_big_tile_set_writes_its_low_zooms_into_the_page(qtbot, make_pane, monkeypatch):
    """Past the page's budget only whole low zooms go in (a city's first view at start):
    views there ask Python for nothing, deeper ones do, and a tile the page was given
    whole zooms of but lacks is empty, not asked for."""
    import ui.map.page
    pane0 = make_pane()
    with qtbot.waitSignal(pane0.ready, timeout=READY_MS):
        pass
    tiles = pane0.road_tiles
    zs = tiles.keys >> 50
    upto15 = int(2 * (np.diff(tiles.road_off) + np.diff(tiles.label_off))[zs <= 15].sum())
    monkeypatch.setattr(ui.map.page, "PRELOAD_BYTES", upto15)  # zooms up to 15, not 16
    pane = make_pane()
    with qtbot.waitSignal(pane.ready, timeout=READY_MS):
        pass
    asked = state(qtbot, pane)["roadTiles"]["requested"]  # the first view: zoom 16 in this pane
    pane.focus(121.4755, 31.2330, 15)
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    st = state(qtbot, pane)["roadTiles"]
    assert st["preloaded"] == int((zs <= 15).sum()) and st["requested"] == asked and st["runs"] > 50
    pane.evaluate("dispatchMap._roads().clearCache()")  # forget what the first view fetched
    pane.focus(121.4755, 31.2330, 17)
    qtbot.waitUntil(lambda: state(qtbot, pane)["roadTiles"]["requested"] > asked, timeout=5000)
    qtbot.waitUntil(lambda: not js(qtbot, pane, "dispatchMap._roads().isLoading()"), timeout=5000)
    st = state(qtbot, pane)["roadTiles"]
    assert st["received"] == st["requested"] and st["runs"] > 50
