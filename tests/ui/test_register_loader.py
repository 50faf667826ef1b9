"""加载全国行政区划 from the console: refused to a call-taker with the reason on screen;
loaded by an administrator in the background with progress, after which the geocoder
finds places far outside the demo city."""
from __future__ import annotations

import pytest

from ui.register_loader import RegisterLoader


def test_a_call_taker_is_refused_and_nothing_is_loaded(qtbot, app):
    app.login("demo-calltaker", "demo")
    dlg = RegisterLoader(app)
    qtbot.addWidget(dlg)
    dlg.show()
    assert "尚未加载" in dlg.state.text() and dlg.load_btn.isEnabled()
    dlg.start()
    qtbot.waitUntil(lambda: "管理员" in dlg.message.text(), timeout=30_000)
    assert dlg.load_btn.isEnabled() and not dlg.bar.isVisible()
    assert app.services.national_register_count() == 0


@pytest.mark.slow
def test_an_administrator_loads_the_register_and_the_geocoder_knows_it(qtbot, app):
    app.login("demo-admin", "demo")
    assert not [c for c in app.geocoder.search("喀什地区疏附县") if "疏附" in c.name]
    dlg = RegisterLoader(app)
    qtbot.addWidget(dlg)
    dlg.show()
    seen: list[int] = []
    dlg.bar.valueChanged.connect(seen.append)
    loaded: list[int] = []
    failed: list[str] = []
    dlg.finished_loading.connect(loaded.append)
    dlg._relay.failed.connect(failed.append)
    dlg.start()
    qtbot.waitUntil(lambda: bool(loaded or failed), timeout=900_000)
    assert not failed, failed
    n = loaded[0]
    assert n > 700_000 and app.services.national_register_count() == n
    assert len(set(seen)) > 3 and seen[-1] == 100                 # progress moved while loading
    assert "已重建" in dlg.message.text() and not dlg.load_btn.isEnabled()
    found = app.geocoder.search("喀什地区疏附县")
    assert found and "疏附" in found[0].name and "新疆" in "".join(found[0].admin)
    dlg2 = RegisterLoader(app)                                    # a second load is refused
    qtbot.addWidget(dlg2)
    assert "已加载" in dlg2.state.text() and not dlg2.load_btn.isEnabled()
