"""Unit markers on the map (resources/map/dispatch_map.js): only the units in and around
the view are in the page, so 2,000 units cost a view change what the view's own cost;
the others keep their position, status and click, and come into the page as the view (or
the unit) reaches them; with too many around the view (a city zoomed out) every unit is a
dot on the canvas instead. Through a real QWebEngineView (offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

import random  # noqa: E402

import pytest  # noqa: E402

from tests.ui.map_support import demo_pane, js  # noqa: E402
from ui.map.map_pane import MapPane  # noqa: E402



@pytest.fixture
def pane(qtbot, tmp_path):
    with demo_pane(qtbot, tmp_path) as pane:
        yield pane


def _units(bounds: list[float], n: int) -> list[dict]:
    rng = random.Random(4)
    return [{"id": i, "callsign": f"测{i:04d}", "kind": "patrol_car", "status": "available",
             "lon": rng.uniform(bounds[0], bounds[2]), "lat": rng.uniform(bounds[1], bounds[3]),
             "label": f"测{i:04d}", "alert": False} for i in range(1, n + 1)]


def _area(qtbot, pane: MapPane, pad: float) -> list[float]:
    b = js(qtbot, pane, f"(function () {{ var b = dispatchMap._map().getBounds().pad({pad}); "
                        "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
    return b


def _inside(u: dict, b: list[float]) -> bool:
    return b[0] <= u["lon"] <= b[2] and b[1] <= u["lat"] <= b[3]


def test_only_the_units_around_the_view_are_in_the_page(qtbot, pane):
    units = _units(pane.road_tiles.bounds, 600)
    pane.focus(121.4737, 31.2304, 18)
    pane.set_units(units)
    st = js(qtbot, pane, "dispatchMap.debugState()")["units"]
    assert len(st) == 600  # every unit is known, with its place and status
    in_page = {int(k) for k, v in st.items() if v["inPage"]}
    view, around = _area(qtbot, pane, 0.0), _area(qtbot, pane, 0.5)
    assert {u["id"] for u in units if _inside(u, view)} <= in_page  # every unit in view is drawn
    assert in_page == {u["id"] for u in units if _inside(u, around)}  # and only those around it
    assert 0 < len(in_page) < 400
    assert js(qtbot, pane, "document.querySelectorAll('.dm-unit').length") == len(in_page)
    # a unit far away still answers a click and shows its status
    far = next(u for u in units if not _inside(u, around))
    with qtbot.waitSignal(pane.unit_clicked, timeout=5000) as sig:
        pane.evaluate(f"dispatchMap._clickUnit({far['id']})")
    assert sig.args == [far["id"]]
    assert "st-available" in st[str(far["id"])]["cls"]

    # the view goes to it: it comes into the page (and ones left behind leave)
    pane.focus(far["lon"], far["lat"], 18)
    qtbot.waitUntil(lambda: js(qtbot, pane, "dispatchMap.debugState()")["units"][str(far["id"])]["inPage"],
                    timeout=5000)
    st = js(qtbot, pane, "dispatchMap.debugState()")["units"]
    around = _area(qtbot, pane, 0.5)
    assert {int(k) for k, v in st.items() if v["inPage"]} == {u["id"] for u in units if _inside(u, around)}

    # a unit that drives into the view is drawn at once, one that drives out leaves
    outside = next(u for u in units if not _inside(u, around))
    inside = next(u for u in units if _inside(u, _area(qtbot, pane, 0.0)) and u["id"] != far["id"])
    centre = js(qtbot, pane, "(function () { var c = dispatchMap._map().getCenter(); return [c.lng, c.lat]; })()")
    pane.upsert_units([{**outside, "lon": centre[0], "lat": centre[1], "status": "en_route"},
                       {**inside, "lon": outside["lon"], "lat": outside["lat"]}])
    st = js(qtbot, pane, "dispatchMap.debugState()")["units"]
    assert st[str(outside["id"])]["inPage"] and "st-en_route" in st[str(outside["id"])]["cls"]
    assert not st[str(inside["id"])]["inPage"]


def test_a_crowd_of_units_becomes_dots_and_markers_again_up_close(qtbot, pane):
    units = _units(pane.road_tiles.bounds, 2000)
    pane.set_units(units)  # the whole demo in view: 2,000 units around it
    st = js(qtbot, pane, "dispatchMap.debugState()")
    assert st["unitDots"] == 2000 and not any(v["inPage"] for v in st["units"].values())
    assert js(qtbot, pane, "document.querySelectorAll('.dm-unit').length") == 0
    one = units[17]
    with qtbot.waitSignal(pane.unit_clicked, timeout=5000) as sig:  # a dot answers a click
        pane.evaluate(f"dispatchMap._clickUnit({one['id']})")
    assert sig.args == [one["id"]]
    pane.upsert_units([{**one, "status": "on_scene", "alert": True}])
    colour = js(qtbot, pane, "(function () { var c = null; dispatchMap._map().eachLayer(function (l) { "
                             f"if (l.getTooltip && l.getTooltip() && l.getTooltip().getContent() === '{one['label']}'"
                             " && l.options.fillColor) { c = l.options.fillColor; } }); return c; })()")
    assert colour == "#ff3b30"  # alert red, as the marker's
    pane.focus(one["lon"], one["lat"], 19)  # up close: markers with labels again
    qtbot.waitUntil(lambda: js(qtbot, pane, "dispatchMap.debugState()")["unitDots"] == 0, timeout=5000)
    st = js(qtbot, pane, "dispatchMap.debugState()")["units"]
    shown = [k for k, v in st.items() if v["inPage"]]
    assert str(one["id"]) in shown and 0 < len(shown) < 250
    assert "alert" in st[str(one["id"])]["cls"] and "st-on_scene" in st[str(one["id"])]["cls"]
    assert js(qtbot, pane, "document.querySelectorAll('.dm-unit').length") == len(shown)
