"""Render the map page once: a folium map (Leaflet from the xstatic-leaflet
package, no online tiles), the basemap data, the JS API and qwebchannel.js, all as
local files in one directory. Nothing on the page loads from the network."""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xstatic.pkg.leaflet as xleaflet
from PySide6.QtCore import QFile, QIODevice

from dispatch.domain.errors import DispatchError

if TYPE_CHECKING:  # numpy, loaded off the window's thread at start (ui.app.preload_core)
    from dispatch.geo.road_tiles import TileSet

RESOURCE_DIR = Path(__file__).resolve().parents[2] / "resources" / "map"
PAGE_NAME = "dispatch_map.html"
QWEBCHANNEL_RESOURCE = ":/qtwebchannel/qwebchannel.js"

_JS = ["leaflet.js", "qwebchannel.js", "dispatch_road_tiles.js", "dispatch_map_base.js",
       "dispatch_map.js", "dispatch_basemap.js"]
_CSS = ["leaflet.css", "dispatch_map.css"]
PRELOAD_BYTES = 1_000_000


def _qwebchannel_js() -> bytes:
    f = QFile(QWEBCHANNEL_RESOURCE)
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise DispatchError("无法读取 Qt 资源 qwebchannel.js，地图无法与程序通信")
    try:
        return bytes(f.readAll().data())
    finally:
        f.close()


def _json_for_script(data: Any) -> str:
    # "</" would end the <script> element early; "\u2028/9" break old JS parsers.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def page_stamp(out_dir: Path) -> tuple:
    """The name, size and modification time of every file of the page in ``out_dir``:
    equal stamps before and after ``render_page`` mean it rewrote nothing, so a page
    loaded before it ran shows what it would have shown (see MapPane.use_basemap)."""
    try:
        files = sorted(f for f in Path(out_dir).rglob("*") if f.is_file())
        return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return ()


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    if not (path.is_file() and path.read_bytes() == data):
        path.write_bytes(data)


def _copy_if_changed(src: Path, dst: Path) -> None:
    """Copy unless ``dst`` is already a copy of ``src`` (same size and modification time):
    a start rewrites nothing of an unchanged page."""
    s = src.stat()
    try:
        d = dst.stat()
        if d.st_size == s.st_size and d.st_mtime_ns == s.st_mtime_ns:
            return
    except OSError:
        pass
    shutil.copy2(src, dst)


def _copy_assets(out_dir: Path) -> None:
    leaflet_dir = Path(xleaflet.BASE_DIR)
    for name in ("leaflet.js", "leaflet.css"):
        _copy_if_changed(leaflet_dir / name, out_dir / name)
    images = leaflet_dir / "images"
    if images.is_dir():
        (out_dir / "images").mkdir(exist_ok=True)
        for f in images.iterdir():
            if f.is_file():
                _copy_if_changed(f, out_dir / "images" / f.name)
    for name in ("dispatch_road_tiles.js", "dispatch_map_base.js", "dispatch_map.js", "dispatch_map.css"):
        _copy_if_changed(RESOURCE_DIR / name, out_dir / name)
    channel = _qwebchannel_js()
    target = out_dir / "qwebchannel.js"
    if not (target.is_file() and target.read_bytes() == channel):
        target.write_bytes(channel)


def render_page(basemap: dict[str, Any], out_dir: Path, road_tiles: TileSet,
                tile_url: str | None = None) -> Path:
    """Write the map page and its assets into ``out_dir``; return the page path.

    ``basemap`` gives the ``bounds``, the attribution and the optional ``grids``
    (FeatureCollection) and ``stations`` (list of dicts); the roads are drawn from
    ``road_tiles`` (served to the page over the QWebChannel, only its name table is
    written here). ``tile_url`` is a deployment's own tile server
    (``.../{z}/{x}/{y}.png``), drawn under the roads. A file whose content is already
    there is not written again (``page_stamp`` stays as it was).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _copy_assets(out_dir)
    except OSError as exc:
        raise DispatchError(f"无法写入地图缓存目录 {out_dir}：{exc}") from None
    config = {
        "bounds": basemap["bounds"],
        "attribution": basemap.get("attribution", ""),
        "attributionUrl": basemap.get("attribution_url", ""),
        "hasTiles": bool(tile_url),
    }
    from dispatch.geo.road_tiles import DATA_MAX_ZOOM, DATA_MIN_ZOOM, EXTENT

    preload, preload_zoom = road_tiles.preload(PRELOAD_BYTES)
    data = {
        "roadTiles": {"minZoom": DATA_MIN_ZOOM, "maxZoom": DATA_MAX_ZOOM, "extent": EXTENT,
                      "names": road_tiles.names,
                      # whole zooms from the least go into the page (the demo: all of it; a
                      # city: its low zooms, the first view), drawn without asking Python
                      "preload": preload, "preloadZoom": preload_zoom},
        "grids": basemap.get("grids"),
        "stations": basemap.get("stations", []),
    }
    try:
        _write_if_changed(out_dir / "dispatch_basemap.js", "window.DISPATCH_BASEMAP = " + _json_for_script(data) + ";\n")
    except OSError as exc:
        raise DispatchError(f"无法写入地图缓存目录 {out_dir}：{exc}") from None
    # The page itself depends only on the config: render it with folium when that
    # changed, not at every start (importing folium alone costs ~0.4 s).
    page = out_dir / PAGE_NAME
    key_file = out_dir / (PAGE_NAME + ".key")
    key = hashlib.sha1(json.dumps([config, tile_url, _JS, _CSS, importlib.metadata.version("folium")],
                                 sort_keys=True).encode()).hexdigest()
    try:
        if not (page.is_file() and key_file.is_file() and key_file.read_text() == key):
            page.write_text(_folium_html(basemap["bounds"], config, tile_url), encoding="utf-8")
            key_file.write_text(key)
    except OSError as exc:
        raise DispatchError(f"无法写入地图缓存目录 {out_dir}：{exc}") from None
    return page


def _folium_html(bounds: list[float], config: dict[str, Any], tile_url: str | None) -> str:
    """The folium page: Leaflet from local files, no tiles unless a local server is given."""
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    class _InitScript(MacroElement):
        """Hands the folium map to the JS API once Leaflet has created it."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "window.dispatchMap.init({{ this._parent.get_name() }}, {{ this.config_json }}, "
            "window.DISPATCH_BASEMAP);"
            "{% endmacro %}")

        def __init__(self, config: dict[str, Any]) -> None:
            super().__init__()
            self._name = "DispatchMapInit"
            self.config_json = _json_for_script(config)

    min_lon, min_lat, max_lon, max_lat = bounds
    fmap = folium.Map(
        location=[(min_lat + max_lat) / 2, (min_lon + max_lon) / 2],
        zoom_start=15, tiles=None, control_scale=False, prefer_canvas=True,
        min_zoom=12, max_zoom=19, zoom_control=True,
    )
    # Only local files: no jquery/bootstrap/font-awesome CDN links.
    fmap.default_js = [(name.removesuffix(".js"), name) for name in _JS]
    fmap.default_css = [(name.removesuffix(".css") + "_css", name) for name in _CSS]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=config.get("attribution", ""),
                         name="tiles", max_zoom=19, max_native_zoom=19).add_to(fmap)
    fmap.add_child(_InitScript(config), name="dispatch_map_init")
    return fmap.get_root().render()
