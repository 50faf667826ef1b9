"""`report --incident ID --pdf FILE`: a PDF of one incident (calls, place, map, units,
timeline, intervals, result). Read back with QPdfDocument: its text holds the incident's
place and result. Without a CJK font on the machine (README: fonts-noto-cjk) Chinese
glyphs cannot be drawn nor extracted, so the check falls back to the report's digits
(caller number, coordinates, grid id) and says so."""
from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from PySide6.QtPdf import QPdfDocument

from dispatch.domain.errors import DispatchError
from dispatch.services.locations import Location
from ui.report_pdf import cjk_family, draw_map, gather, write_report

REPO = Path(__file__).resolve().parents[2]
RADICALS = str.maketrans("⺠⻩⻓⻔⻋⻢⻛⻜⻰⻥⻦⻉⻚⻄⻅⻆⻤⻨⻬⻮⻳⻢⻘⻝", "民黄长门车马风飞龙鱼鸟贝页西见角鬼麦齐齿龟马青食")


def _closed_incident(app) -> int:
    sv = app.services
    iid = sv.open_call("13800138000", "李四").incident_id
    cand = app.geocoder.search("人民广场", limit=1)[0]
    sv.locate(iid, Location.from_candidate(cand, "人民广场"))
    sv.categorise(iid, "dispute")
    rec = sv.recommend(iid, limit=1)
    sv.dispatch(iid, [rec.ranked[0].unit_id])
    sv.close(iid, "mediated", "双方和解")
    return iid


def _text(path: Path) -> str:
    doc = QPdfDocument()
    doc.load(str(path))
    assert doc.status() == QPdfDocument.Status.Ready and doc.pageCount() >= 1
    text = "".join(doc.getAllText(i).text() for i in range(doc.pageCount()))
    # Noto CJK's glyphs map back to radicals for some characters (⼈ for 人, ⺠ for 民):
    # NFKC folds the Kangxi radicals, the table the supplement's simplified forms
    return unicodedata.normalize("NFKC", text).translate(RADICALS)


def test_report_holds_place_result_and_map(qapp, app, tmp_path: Path):
    iid = _closed_incident(app)
    data = gather(app, iid)
    img = draw_map(data, [])
    assert img is not None and data.tracks  # the dispatched unit is drawn (its position now)
    out = write_report(app, iid, tmp_path / "report.pdf")
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF-") and len(raw) > 20_000  # the map image is in it
    text = _text(out)
    v = data.view
    assert "13800138000" in text and f"{v.lon:.6f}" in text and v.grid_id in text
    if cjk_family() is None:
        pytest.skip("no CJK font installed (fonts-noto-cjk): Chinese text not checkable here")
    assert v.place_name in text and "调解" in text and "警情报告" in text
    assert b"FontFile" in raw  # fonts embedded


def test_refusals_leave_no_file(qapp, app, tmp_path: Path):
    with pytest.raises(DispatchError, match="不存在"):
        write_report(app, 424242, tmp_path / "x.pdf")
    with pytest.raises(DispatchError, match="目录不存在"):
        write_report(app, 1, tmp_path / "no" / "x.pdf")
    assert not (tmp_path / "x.pdf").exists() and not list(tmp_path.glob(".report-*"))


def test_command_line(app, tmp_path: Path):
    iid = _closed_incident(app)
    app.engine.dispose()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "report", *args],
                              cwd=REPO, capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "r.pdf"
    r = run("--incident", str(iid), "--pdf", str(pdf))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bytes"] == pdf.stat().st_size and pdf.read_bytes().startswith(b"%PDF-")
    bad = run("--incident", "99999", "--pdf", str(tmp_path / "b.pdf"))
    assert bad.returncode == 2 and "警情 99999 不存在" in bad.stderr and not (tmp_path / "b.pdf").exists()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        r = run("--incident", str(iid), "--pdf", str(ro / "c.pdf"))
        if r.returncode == 0:  # root ignores the mode: nothing to check here
            assert (ro / "c.pdf").exists()
        else:
            assert r.returncode == 2 and "无法写入" in r.stderr and not list(ro.iterdir())
    finally:
        ro.chmod(0o700)
    missing = run("--incident", str(iid), "--pdf", str(tmp_path / "nodir" / "c.pdf"))
    assert missing.returncode == 2 and "目录不存在" in missing.stderr


def test_open_unlocated_incident_has_no_map(qapp, app, tmp_path: Path):
    iid = app.services.open_call("13800138001").incident_id
    data = gather(app, iid)
    assert draw_map(data, []) is None and data.tracks == {}
    out = write_report(app, iid, tmp_path / "open.pdf")
    text = _text(out)
    assert "13800138001" in text
    if cjk_family() is not None:
        assert "未定位" in text and "未结警" in text and "未派警" in text


def test_a_note_keeps_its_lines_and_every_column_is_named(qapp, app):
    """QA round 2: a note's line breaks were dropped ("行1行2") and the 报警电话 table had an
    empty column header."""
    from ui.report_pdf import report_html
    sv = app.services
    iid = sv.open_call("13800138001", "").incident_id
    sv.categorise(iid, "dispute", narrative="第一行<b>\n第二行")
    sv.close(iid, "invalid", "核实一\n核实二")
    page = report_html(gather(app, iid), "Asia/Shanghai", with_map=False)
    assert "第一行&lt;b&gt;<br/>第二行" in page and "核实一<br/>核实二" in page
    assert "<th></th>" not in page
