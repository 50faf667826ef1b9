"""Issue 10: the GUI thread is not held by a storm of fixes. The window's long-lived data
is kept out of the cyclic collector's full passes while it is open (QuietHeap), a slice
of fixes updates the window's list of units in place, and the map places its labels
with one layout of the page, at most once a second for live fixes."""
from __future__ import annotations

import gc
import json
from dataclasses import replace
from datetime import timedelta

from dispatch.feeds.position_follower import Moved
from tests.ui.window_support import open_window
from ui import position_feed
from ui.position_feed import QuietHeap


def test_the_open_window_keeps_its_loaded_data_out_of_full_collections(qtbot, app, monkeypatch):
    before = QuietHeap.users
    w = open_window(qtbot, app, active=False)
    assert QuietHeap.users == before + 1
    assert gc.get_freeze_count() > 0  # frozen after the first full load
    # the heap grew (warm-up, a replay's index): a full pass longer than LONG_GC_MS
    # freezes what survived it
    gc.unfreeze()
    monkeypatch.setattr(position_feed, "LONG_GC_MS", -1.0)
    gc.collect()
    assert gc.get_freeze_count() > 0
    w.close()
    assert QuietHeap.users == before
    if before == 0:
        assert gc.get_freeze_count() == 0  # the last console closed: cycles are collected again


def _js(qtbot, pane, script: str):
    box: list = []
    pane.evaluate(f"JSON.stringify({script})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def test_fixes_update_the_window_in_place_and_labels_never_overlap(qtbot, app, clock):
    w = open_window(qtbot, app, active=False)
    qtbot.waitUntil(lambda: w.map.is_ready, timeout=20000)
    units = w._units
    first, second = units[0], units[1]
    at = clock.now() + timedelta(seconds=3)
    w.live._on_moved([Moved(first.id, first.lon + 0.0005, first.lat, at, "avl"),
                      Moved(second.id, second.lon, second.lat + 0.0005, at, "avl")])
    assert w._units is units  # the same list, not one rebuilt per slice
    assert w._units[0] == replace(first, lon=first.lon + 0.0005, position_at=at, position_source="avl")
    assert w.board.model.unit(second.id).lat == second.lat + 0.0005

    # every unit on one small spot, moved by live fixes: labels are placed again (within
    # a second) and no two labels, nor a label and a marker, overlap
    spot = [dict(m, lon=121.4755 + (i % 7) * 0.0002, lat=31.2325 + (i // 7) * 0.0002)
            for i, m in enumerate(w.live.markers(w._units))]
    w.map.upsert_units(spot)
    qtbot.wait(1300)
    rects = _js(qtbot, w.map, """(function () {
      var out = [];
      document.querySelectorAll('.dm-unit').forEach(function (el) {
        var host = el.closest('.leaflet-marker-icon');
        var label = el.querySelector('.dm-unit-label');
        if (!host || !label || host.classList.contains('dm-nolabel')) { return; }
        var r = label.getBoundingClientRect();
        if (r.width) { out.push([r.left, r.top, r.right, r.bottom]); }
      });
      return out;
    })()""")
    assert len(rects) >= 3, "some labels are shown"
    assert len(rects) < len(spot), "crowded labels are left out"
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not (a[0] < b[2] - 0.5 and a[2] > b[0] + 0.5 and a[1] < b[3] - 0.5 and a[3] > b[1] + 0.5), (a, b)
    w.close()
