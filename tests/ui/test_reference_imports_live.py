"""A city imported at another seat reaches a running console: its road graph and
geocoders are rebuilt from the new extract at their next use, and its map redraws the
roads, without a restart."""
from __future__ import annotations

from pathlib import Path

from dispatch.bootstrap import bootstrap
from dispatch.services import city_import
from dispatch.settings import Settings
from tests.ui.window_support import open_window

REPO = Path(__file__).resolve().parents[2]
DEMO_PBF = REPO / "tests" / "data" / "osm" / "shanghai-huangpu.osm.pbf"


def test_a_city_imported_at_another_seat_reaches_this_console(qtbot, app, tmp_path):
    w = open_window(qtbot, app)
    before = app.roads
    assert app.roads_osm != DEMO_PBF
    other = bootstrap(Settings(data_dir=tmp_path, seat="席位02"), clock=app.clock)
    try:
        with qtbot.waitSignal(w.basemap_reload.reloaded, timeout=60000):
            done = city_import.apply_city(other.services.ctx, DEMO_PBF, tmp_path / "cache-02", ["上海市"])
            assert done.applied
        qtbot.waitUntil(lambda: w.map.is_ready, timeout=60000)  # the page is back with the new roads
        qtbot.waitUntil(lambda: "roads" not in app.__dict__, timeout=10000)  # the follower told this seat
        assert app.roads_osm == DEMO_PBF.resolve()
        after = app.roads
        assert after is not before and after.node_count == before.node_count  # the same streets, now from the PBF
        w.follower.poll()
        assert "roads" in app.__dict__  # nothing forgets it again without a new import
    finally:
        other.engine.dispose()
