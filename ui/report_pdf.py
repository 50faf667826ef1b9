"""The incident report (警情报告) as a printable PDF: calls (the incident's own and any linked
ones), place, a small map drawn with QPainter from the demo's roads (the same OSM file the
basemap uses) with the incident and the units' tracks, the units with their times, the
timeline, the intervals against the targets, the result. Times in the settings' zone.

Qt lays the page out (QTextDocument → QPdfWriter, which embeds the fonts it uses as
subsets); the core supplies everything shown. `write_report(app, id, path)` writes to a
temporary file beside `path` and renames it: a refusal or a failure leaves no file."""
from __future__ import annotations

import html
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QImage, QPageLayout, QPageSize, QPainter,
                           QPainterPath, QPdfWriter, QPen, QTextDocument)

from dispatch.domain.errors import DispatchError
from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES
from dispatch.replay.timeline import IncidentTimeline, incident_timeline, minutes_seconds
from dispatch.services import queries

if TYPE_CHECKING:
    from dispatch.bootstrap import App

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "Noto Serif CJK SC", "AR PL UMing CN")
MAP_W, MAP_H = 1400, 900
MAP_HALF_M = 900.0  # at least this far around the incident


@dataclass
class ReportData:
    view: Any                                   # queries.IncidentView
    calls: list[tuple[int, str, str, datetime, bool]]   # (incident id, number, name, time, own)
    timeline: IncidentTimeline
    tracks: dict[str, list[tuple[float, float]]] = field(default_factory=dict)   # callsign -> track
    generated_at: datetime | None = None


def gather(app: App, incident_id: int) -> ReportData:
    """Everything the report shows, read in one session. DispatchError for an unknown id."""
    with app.session() as s:
        view = queries.incident(s, incident_id)
        if view is None:
            raise DispatchError(f"警情 {incident_id} 不存在")
        events = queries.incident_events(s, incident_id)
        calls = [(view.id, view.caller_number, view.caller_name, view.received_at, True)]
        try:
            from dispatch.services import call_links
            calls = [(c.incident_id, c.number, c.name, c.received_at, c.own)
                     for c in call_links.calls_of(s, incident_id)]
        except ImportError:  # the linked calls are optional
            pass
        end = view.closed_at or app.clock.now()
        tracks = {}
        now_at = {u.id: (u.lon, u.lat) for u in queries.unit_snapshots(s)}
        for a in view.assignments:
            track = queries.unit_track(s, a.unit_id, a.dispatched_at - timedelta(minutes=1), a.cleared_at or end)
            if not track and a.unit_id in now_at:  # no positions kept: where the unit is now
                track = [now_at[a.unit_id]]
            if track:
                tracks[a.callsign] = track
    tl = incident_timeline(view, events, app.settings.targets, getattr(app.settings, "ack_timeout_s", 60.0))
    return ReportData(view, calls, tl, tracks, app.clock.now())


# ---- the map -----------------------------------------------------------------------------
def _roads(app: App) -> list[dict]:
    from dispatch.geo.basemap import build_basemap
    from dispatch.geo.osm import read_osm
    try:
        return build_basemap(read_osm(app.roads_osm))["roads"]["features"]
    except DispatchError:
        return []


def draw_map(data: ReportData, roads: list[dict]) -> QImage | None:
    """The roads around the incident, its point and the units' tracks (end = last position)."""
    v = data.view
    pts = [(v.lon, v.lat)] if v.lon is not None else []
    for track in data.tracks.values():
        pts.extend(track)
    if not pts:
        return None
    lat0 = sum(p[1] for p in pts) / len(pts)
    k = 111_320.0 * math.cos(math.radians(lat0))
    xs = [p[0] * k for p in pts]
    ys = [p[1] * 111_320.0 for p in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(MAP_HALF_M, (max(xs) - min(xs)) / 2 * 1.15, (max(ys) - min(ys)) / 2 * 1.15 * MAP_W / MAP_H)
    scale = (MAP_W / 2) / half  # px per metre

    def px(lon: float, lat: float) -> QPointF:
        return QPointF(MAP_W / 2 + (lon * k - cx) * scale, MAP_H / 2 - (lat * 111_320.0 - cy) * scale)

    img = QImage(MAP_W, MAP_H, QImage.Format.Format_RGB32)
    img.fill(QColor("#f4f1ea"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    box = QRectF(-50, -50, MAP_W + 100, MAP_H + 100)
    widths = {0: 2, 1: 2, 2: 3, 3: 4, 4: 6, 5: 7, 6: 8}
    for f in roads:
        coords = f["geometry"]["coordinates"]
        qpts = [px(lon, lat) for lon, lat in coords]
        if not any(box.contains(q) for q in qpts):
            continue
        rank = f["properties"].get("rank", 1)
        path = QPainterPath(qpts[0])
        for q in qpts[1:]:
            path.lineTo(q)
        p.setPen(QPen(QColor("#b8b2a6"), widths.get(rank, 2) + 2))
        p.drawPath(path)
        p.setPen(QPen(QColor("#ffffff") if rank < 4 else QColor("#f7d48b"), widths.get(rank, 2)))
        p.drawPath(path)
    palette = ("#1f6feb", "#8957e5", "#1a7f37", "#bf8700", "#0a7ea4")
    font = p.font()
    font.setPixelSize(26)
    p.setFont(font)
    for i, (callsign, track) in enumerate(data.tracks.items()):
        colour = QColor(palette[i % len(palette)])
        if len(track) > 1:
            path = QPainterPath(px(*track[0]))
            for lon, lat in track[1:]:
                path.lineTo(px(lon, lat))
            p.setPen(QPen(colour, 5, Qt.PenStyle.DashLine))
            p.drawPath(path)
        end = px(*track[-1])
        p.setPen(QPen(QColor("white"), 3))
        p.setBrush(colour)
        p.drawEllipse(end, 13, 13)
        p.setPen(colour)
        p.drawText(end + QPointF(18, -10), callsign)
    if v.lon is not None:
        c = px(v.lon, v.lat)
        p.setPen(QPen(QColor("white"), 4))
        p.setBrush(QColor("#d1242f"))
        p.drawEllipse(c, 18, 18)
    bar_m = 500 if half > 600 else 200  # scale bar
    p.setPen(QPen(QColor("#333333"), 4))
    p.drawLine(QPointF(30, MAP_H - 40), QPointF(30 + bar_m * scale, MAP_H - 40))
    p.drawText(QPointF(30, MAP_H - 52), f"{bar_m} m")
    font.setPixelSize(18)
    p.setFont(font)
    p.drawText(QRectF(0, MAP_H - 30, MAP_W - 12, 26), int(Qt.AlignmentFlag.AlignRight),
               "© OpenStreetMap contributors (ODbL)")
    p.end()
    return img


# ---- the document ------------------------------------------------------------------------
def cjk_family() -> str | None:
    families = set(QFontDatabase.families())
    return next((f for f in CJK_FAMILIES if f in families), None)


def _esc(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _lines(x: object) -> str:
    """A text that may hold line breaks (a narrative, a note): escaped, its lines kept
    (HTML would run them together: "行1行2")."""
    return "<br/>".join(_esc(line) for line in str(x or "").splitlines())


def report_html(data: ReportData, tz: str, with_map: bool) -> str:
    zone = ZoneInfo(tz)

    def t(x: datetime | None, date: bool = False) -> str:
        return x.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S") if x else "—"
    v = data.view
    cat = CATEGORY_BY_CODE.get(v.category)
    result = RESULT_CODES.get(v.result_code, v.result_code) if v.result_code else "未结警"
    table = 'border="1" cellspacing="0" cellpadding="4" width="100%"'
    out = [f"<h2>警情报告　第 {v.id} 号</h2>",
           f"<p>状态：{_esc(v.status.label)}　类别：{_esc(cat.label if cat else '未定性')}"
           f"　优先级：{'紧急' if v.priority == 'urgent' else '非紧急'}　接警席位：{_esc(v.seat)}（{_esc(v.operator)}）</p>",
           f"<p>接警时间：{t(v.received_at, True)}　结警时间：{t(v.closed_at, True)}　时区：{_esc(tz)}</p>",
           "<h3>报警电话</h3>", f"<table {table}><tr><th>警情</th><th>号码</th><th>姓名</th><th>时间</th><th>来源</th></tr>"]
    for iid, number, name, at, own in data.calls:
        out.append(f"<tr><td>{iid}</td><td>{_esc(number)}</td><td>{_esc(name)}</td><td>{t(at, True)}</td>"
                   f"<td>{'本警情' if own else '关联来电'}</td></tr>")
    out.append("</table>")
    place = v.place_name or v.place_text or "未定位"
    admin = " / ".join(v.place_admin or [])
    coords = f"{v.lon:.6f}, {v.lat:.6f}（WGS-84）" if v.lon is not None else ""
    out += ["<h3>地点</h3>", f"<p><b>{_esc(place)}</b>{_esc(' ' + v.qualifier if v.qualifier else '')}<br/>"
            f"{_esc(admin)}　{_esc(coords)}　网格：{_esc(v.grid_id or '—')}<br/>报警人描述：{_esc(v.place_text)}</p>"]
    if with_map:
        out.append(f'<p><img src="map.png" width="{MAP_W // 2.2:.0f}"/></p>'
                   "<p><small>红点：警情地点；彩色：出警单位轨迹及最后位置</small></p>")
    if v.narrative:
        out += ["<h3>简要警情</h3>", f"<p>{_lines(v.narrative)}</p>"]
    out += ["<h3>出警单位</h3>", f"<table {table}><tr><th>单位</th><th>派警</th><th>签收</th><th>出发</th>"
            "<th>到场</th><th>完成</th><th>预计到达</th></tr>"]
    for a in v.assignments:
        eta = minutes_seconds(a.eta_s) if a.eta_s is not None else "—"
        out.append(f"<tr><td>{_esc(a.callsign)}</td><td>{t(a.dispatched_at)}</td><td>{t(a.acknowledged_at)}</td>"
                   f"<td>{t(a.en_route_at)}</td><td>{t(a.arrived_at)}</td><td>{t(a.cleared_at)}</td><td>{eta}</td></tr>")
    if not v.assignments:
        out.append('<tr><td colspan="7">未派警</td></tr>')
    out += ["</table>", "<h3>时间节点</h3>",
            f"<table {table}><tr><th>区间</th><th>用时</th><th>目标</th><th>达标</th></tr>"]
    for iv in data.timeline.intervals:
        took = minutes_seconds(iv.seconds) if iv.seconds is not None else "—"
        target = minutes_seconds(iv.target_s) if iv.target_s is not None else "—"
        met = {True: "是", False: "<b>否</b>", None: "—"}[iv.met]
        out.append(f"<tr><td>{_esc(iv.name)}</td><td>{took}</td><td>{target}</td><td>{met}</td></tr>")
    out += ["</table>", "<h3>处置过程</h3>",
            f"<table {table}><tr><th>时间</th><th>席位</th><th>操作员</th><th>事项</th><th>内容</th></tr>"]
    for e in data.timeline.entries:
        out.append(f"<tr><td>{t(e.at)}</td><td>{_esc(e.seat)}</td><td>{_esc(e.operator)}</td>"
                   f"<td>{_esc(e.what)}</td><td>{_lines(e.detail)}</td></tr>")
    out += ["</table>", "<h3>处理结果</h3>", f"<p><b>{_esc(result)}</b><br/>{_lines(v.close_note)}</p>",
            f"<p><small>生成时间：{t(data.generated_at, True)}　110 接处警调度台</small></p>"]
    return "\n".join(out)


def render_pdf(data: ReportData, roads: list[dict], path: Path, tz: str) -> None:
    img = draw_map(data, roads)
    doc = QTextDocument()
    family = cjk_family()
    font = QFont(family) if family else QFont()
    font.setPointSizeF(9.5)
    doc.setDefaultFont(font)
    if img is not None:
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("map.png"), img)
    doc.setHtml(report_html(data, tz, img is not None))
    writer = QPdfWriter(str(path))
    writer.setTitle(f"警情报告 {data.view.id}")
    writer.setCreator("110 接处警调度台")
    writer.setResolution(150)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    doc.setPageSize(QSizeF(writer.width(), writer.height()))
    doc.print_(writer)
    del writer  # flush and close the file


def write_report(app: App, incident_id: int, path: str | Path) -> Path:
    """Write the incident's report to `path`. A bad id or an unwritable place is refused
    with a DispatchError before anything is written; on any failure no file is left."""
    path = Path(path)
    if path.is_dir():
        raise DispatchError(f"{path} 是目录，请给出 PDF 文件名")
    if not path.parent.is_dir():
        raise DispatchError(f"目录不存在: {path.parent}")
    if not os.access(path.parent, os.W_OK):
        raise DispatchError(f"无法写入目录: {path.parent}")
    data = gather(app, incident_id)
    roads = _roads(app) if data.view.lon is not None else []
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".pdf", dir=path.parent)
    os.close(fd)
    try:
        render_pdf(data, roads, Path(tmp), app.settings.tz)
        if Path(tmp).stat().st_size == 0:
            raise DispatchError("生成 PDF 失败")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def ensure_gui_app() -> Any:
    """The application for painting and fonts; headless (offscreen) unless one exists. A
    QApplication (not only a QGuiApplication): the same process may open windows later
    (Qt aborts a QWidget made under a bare QGuiApplication)."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication
    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("QT_QPA_PLATFORM"):  # unset or empty: no screen is asked for
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(["report"])
    return app


def attach(window) -> None:  # noqa: ANN001 (ui.main_window.MainWindow)
    """Ctrl+P: save the report of the incident in hand (or the one selected) as a PDF."""
    from PySide6.QtWidgets import QFileDialog

    from ui.window_actions import for_incident, on_key
    from ui.workers import run_in_background

    def save(iid: int) -> None:
        default = str(Path.home() / f"警情报告-{iid}.pdf")
        path, _ = QFileDialog.getSaveFileName(window, f"保存警情 {iid} 的报告", default, "PDF (*.pdf)")
        if not path:
            return
        window._on_message(f"正在生成警情 {iid} 的报告…")
        run_in_background(lambda: write_report(window.app, iid, path),
                          lambda p: window._on_message(f"报告已保存：{p}"),
                          lambda exc: window._on_message(f"报告未生成：{exc}"))

    window.save_report = for_incident(window, "请先选择要出报告的警情", save)
    on_key(window, "Ctrl+P", window.save_report)
