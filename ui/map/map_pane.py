"""MapPane: the console's map, a QWebEngineView over a page rendered once.

Python talks to the page only through ``window.dispatchMap.*`` (runJavaScript with
JSON arguments); calls made before the page reports ready are queued and run in
order once it does. The page talks back through one QWebChannel object (MapBridge).
The view is sealed off the network: every request that is not a local file is
blocked and remembered (``blocked_requests``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEnginePage, QWebEngineProfile, QWebEngineSettings, QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ui.map.bridge import MapBridge
from ui.map.page import PAGE_NAME, page_stamp, render_page

if TYPE_CHECKING:  # numpy, loaded off the window's thread at start (ui.app.preload_core)
    from dispatch.geo.road_tiles import TileSet

log = logging.getLogger(__name__)

_LOCAL_SCHEMES = frozenset({"file", "qrc", "data", "blob", "about"})
# A page drawn at another size than its view's (shown, but not yet resized to its pane) is
# asked again every _SIZE_RETRY_MS, _SIZE_RETRIES times at most, then taken as it is.
_SIZE_RETRY_MS = 20
_SIZE_RETRIES = 50


def _origin(url: QUrl) -> tuple[str, str, int]:
    return url.scheme(), url.host(), url.port(-1)


class _OfflineInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks any request that would leave the machine (except to the deployment's
    own tile server, if one is configured); records all requests."""

    def __init__(self, tile_url: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.requested: list[str] = []
        self.blocked: list[str] = []
        # "{z}" etc. are not valid in a host, but the origin is parsed before them.
        self._tile_origin = _origin(QUrl(tile_url)) if tile_url else None

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt API)
        url = info.requestUrl()
        self.requested.append(url.toString())
        if url.scheme() not in _LOCAL_SCHEMES and _origin(url) != self._tile_origin:
            self.blocked.append(url.toString())
            info.block(True)


class _MapPage(QWebEnginePage):
    """Keeps the page's console messages (errors show up in the log and in tests)."""

    def __init__(self, profile: QWebEngineProfile, parent: QObject | None = None) -> None:
        super().__init__(profile, parent)
        self.console: list[tuple[str, str, int, str]] = []

    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802 (Qt API)
        name = {QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel: "info",
                QWebEnginePage.JavaScriptConsoleMessageLevel.WarningMessageLevel: "warning",
                QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel: "error"}.get(level, "info")
        self.console.append((name, message, line, source))
        if name == "error":
            log.error("map page: %s (%s:%s)", message, source, line)


class MapPane(QWidget):
    """The map pane. ``basemap`` is ``dispatch.geo.basemap.cached_basemap(road file,
    cache_dir)`` (the road file's tiles, cut once per file content) or
    ``build_basemap(osm)`` (GeoJSON), optionally with ``grids`` and ``stations``; the
    page and its assets are written under ``cache_dir / "map"``. The roads are drawn
    from vector tiles (dispatch.geo.road_tiles) that the page asks for as the view
    moves: the basemap's own ``road_tiles`` (a TileSet) or else tiles cut from its
    ``roads``, cached under ``cache_dir / "road-tiles"`` by the hash of the roads.
    ``use_roads`` swaps them on the running page (ui.map.road_reload). ``tile_url``
    points at a deployment's own tile server (default: none).

    ``basemap`` None opens the page the last start wrote under ``cache_dir`` at once (the
    web engine loads it while the console reads its database) and ``use_basemap`` gives
    the roads later: the page is loaded again only if the basemap changed it. Until
    then the page's road tile requests wait."""

    ready = Signal()
    map_clicked = Signal(float, float)      # lon, lat
    candidate_clicked = Signal(int)         # candidate index
    incident_clicked = Signal(int)          # incident id
    unit_clicked = Signal(int)              # unit id

    def __init__(self, basemap: dict[str, Any] | None, cache_dir: Path, parent: QWidget | None = None,
                 tile_url: str | None = None) -> None:
        super().__init__(parent)
        self._ready = False
        self._size_retries = 0
        self._queue: list[tuple[str, Callable[[Any], None] | None]] = []
        # The latest call per piece of map state, replayed if the page has to be
        # loaded again (the renderer process died): the map never comes back blank.
        self._state: dict[str, str] = {}
        self._routes: dict[str, str] = {}
        self._units: dict[int, dict] = {}  # the unit markers shown, kept up to date by upserts
        self._incidents: dict[int, dict] = {}  # the incident markers shown, the same way

        # Off the record: no disk cache, no cookies. Parented last (below) so that
        # it is destroyed after the page that uses it.
        self._profile = QWebEngineProfile()
        self._interceptor = _OfflineInterceptor(tile_url, self)
        self._profile.setUrlRequestInterceptor(self._interceptor)
        self._page = _MapPage(self._profile, self)
        settings = self._page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        # Remote access only for a configured tile server (the interceptor lets
        # nothing else out anyway).
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
                              bool(tile_url))

        self._bridge = MapBridge(self)
        self._channel = QWebChannel(self)
        self._channel.registerObject("bridge", self._bridge)
        self._page.setWebChannel(self._channel)

        self._view = QWebEngineView(self)
        self._view.setPage(self._page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)
        self._profile.setParent(self)

        self._bridge.ready.connect(self._on_ready)
        self._bridge.map_clicked.connect(self.map_clicked)
        self._bridge.candidate_clicked.connect(self.candidate_clicked)
        self._bridge.incident_clicked.connect(self.incident_clicked)
        self._bridge.unit_clicked.connect(self.unit_clicked)
        self._bridge.road_tiles_requested.connect(self._on_road_tiles_requested)
        self._page.loadFinished.connect(self._on_load_finished)
        self._page.renderProcessTerminated.connect(self._on_render_process_terminated)

        self._cache_dir = Path(cache_dir)
        self._tile_url = tile_url
        self.road_tiles: TileSet | None = None
        self._waiting_tiles: list[str] = []  # asked for before use_basemap gave the roads
        self._early_stamp: tuple | None = None  # the page loaded before its basemap was known
        if basemap is None:
            self.page_path = self._cache_dir / "map" / PAGE_NAME
            if self.page_path.is_file():
                self._early_stamp = page_stamp(self.page_path.parent)
                self._view.setUrl(QUrl.fromLocalFile(str(self.page_path)))
        else:
            self.road_tiles, self.page_path = self.prepare_roads(basemap)
            self._view.setUrl(QUrl.fromLocalFile(str(self.page_path)))

    @property
    def cache_dir(self) -> Path:
        return self._cache_dir

    def use_basemap(self, basemap: dict[str, Any]) -> None:
        """The roads, grids and stations of a pane made without ``basemap``: the page
        loaded at once is kept when writing them changed none of its files, else it is
        loaded again (as ``use_roads``)."""
        early, self._early_stamp = self._early_stamp, None
        prepared = self.prepare_roads(basemap)
        if early is not None and early == page_stamp(self.page_path.parent) and prepared[1] == self.page_path:
            self.road_tiles = prepared[0]
            waiting, self._waiting_tiles = self._waiting_tiles, []
            if waiting:
                self._on_road_tiles_requested(waiting)
        else:
            self._waiting_tiles = []
            self.use_roads(prepared)

    # ---- state -------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self._ready

    @property
    def view(self) -> QWebEngineView:
        return self._view

    @property
    def requested_urls(self) -> list[str]:
        """Every URL the page asked for (diagnostics, tests)."""
        return list(self._interceptor.requested)

    @property
    def blocked_requests(self) -> list[str]:
        """Requests that tried to leave the machine and were blocked."""
        return list(self._interceptor.blocked)

    @property
    def console_messages(self) -> list[tuple[str, str, int, str]]:
        """The page's console messages: (level, message, line, source)."""
        return list(self._page.console)

    # ---- API (Python -> JS) ------------------------------------------------

    def set_units(self, units: list[dict]) -> None:
        """Full replace: {id, callsign, kind, status, lon, lat, label, alert, stale}."""
        self._units = {u["id"]: u for u in units}
        self._call("setUnits", units)

    def upsert_units(self, units: list[dict]) -> None:
        """Update only these units' markers (live fixes); the others stay as drawn."""
        if not units:
            return
        self._units.update((u["id"], u) for u in units)
        self._call("upsertUnits", units)

    def remove_units(self, ids: list[int]) -> None:
        """Take these units' markers off the map (gone off duty)."""
        gone = [i for i in ids if self._units.pop(i, None) is not None]
        if gone:
            self._call("removeUnits", gone)

    def show_track(self, unit_id: int, coords: list[list[float]], label: str = "") -> None:
        """The selected unit's recent track, [[lon, lat], ...]; it grows as the unit moves."""
        self._call("showTrack", unit_id, coords, label, state="track")

    def clear_track(self) -> None:
        self._state.pop("track", None)
        self._call("clearTrack")

    def set_tracks(self, tracks: dict[int, list]) -> None:
        """Replay: every unit's recent track {unit id: [(lon, lat), ...]}, replacing all."""
        self._call("setTracks", [{"id": k, "coords": [list(p) for p in v]} for k, v in tracks.items()],
                   state="track")

    def set_incidents(self, incidents: list[dict]) -> None:
        """Full replace: {id, status, priority, lon, lat, label}."""
        self._incidents = {i["id"]: i for i in incidents}
        self._call("setIncidents", incidents, state="incidents")

    def upsert_incidents(self, incidents: list[dict]) -> None:
        """Update (or add) only these incidents' markers; the others stay as drawn."""
        if not incidents:
            return
        self._incidents.update((i["id"], i) for i in incidents)
        self._call("upsertIncidents", incidents)
        self._state.pop("incidents", None)  # rebuilt from self._incidents if the page reloads

    def remove_incidents(self, ids: list[int]) -> None:
        """Take these incidents' markers off the map (closed, transferred, merged)."""
        gone = [i for i in ids if self._incidents.pop(i, None) is not None]
        if gone:
            self._call("removeIncidents", gone)
            self._state.pop("incidents", None)

    def set_candidates(self, cands: list[dict]) -> None:
        """Place candidates {index, name, lon, lat, label}, drawn numbered 1..n."""
        self._state.pop("highlight", None)
        self._call("setCandidates", cands, state="candidates")

    def highlight_candidate(self, index: int) -> None:
        self._call("highlightCandidate", index, state="highlight")

    def set_pick_point(self, lon: float, lat: float, label: str = "") -> None:
        self._call("setPickPoint", lon, lat, label, state="pick")

    def clear_pick_point(self) -> None:
        self._state.pop("pick", None)
        self._call("clearPickPoint")

    def show_route(self, key: str, coords: list[list[float]], label: str = "") -> None:
        """Draw (or redraw, same key) a route given as [[lon, lat], ...]."""
        self._routes[key] = self._call("showRoute", key, coords, label)

    def clear_routes(self) -> None:
        self._routes.clear()
        self._call("clearRoutes")

    def focus(self, lon: float, lat: float, zoom: int | None = None) -> None:
        self._call("focus", lon, lat, zoom, state="view")

    def fit_bounds(self, bounds: list[float] | tuple[float, float, float, float]) -> None:
        """Show [min_lon, min_lat, max_lon, max_lat]."""
        self._call("fitBounds", list(bounds), state="view")

    def set_grids_visible(self, visible: bool) -> None:
        self._call("setGridsVisible", bool(visible), state="grids")

    def prepare_roads(self, basemap: dict[str, Any]) -> tuple[TileSet, Path]:
        """The road tiles of ``basemap`` and the page written for them, to be shown by
        ``use_roads``. Touches no Qt object of the pane: may run on a worker thread (cutting
        a city's tiles the first time takes seconds)."""
        from dispatch.geo.road_lines import lines_from_basemap
        from dispatch.geo.road_tiles import cached_tiles

        tiles: TileSet = basemap.get("road_tiles") or cached_tiles(
            lines_from_basemap(basemap), self._cache_dir / "road-tiles")
        return tiles, render_page(basemap, self._cache_dir / "map", tiles, tile_url=self._tile_url)

    def use_roads(self, prepared: tuple[TileSet, Path]) -> None:
        """Draw other roads (``prepare_roads``'s result: a road file imported while the
        console runs): the page is loaded again; units, incidents, candidates, routes, the
        track and the view are put back as they were."""
        self.road_tiles, self.page_path = prepared
        self._reload_page()

    def evaluate(self, script: str, callback: Callable[[Any], None] | None = None) -> None:
        """Run a script on the page (queued until ready); ``callback`` gets its value."""
        self._enqueue(script, callback)

    # ---- internals ---------------------------------------------------------

    def _call(self, name: str, *args: Any, state: str | None = None) -> str:
        arglist = ", ".join(json.dumps(a, ensure_ascii=False) for a in args)
        script = f"window.dispatchMap.{name}({arglist});"
        if state is not None:
            self._state[state] = script
        self._enqueue(script, None)
        return script

    def _enqueue(self, script: str, callback: Callable[[Any], None] | None) -> None:
        if self._ready:
            self._run(script, callback)
        else:
            self._queue.append((script, callback))

    def _run(self, script: str, callback: Callable[[Any], None] | None) -> None:
        if callback is None:
            self._page.runJavaScript(script, 0)
        else:
            self._page.runJavaScript(script, 0, callback)

    def _on_ready(self, width: int, height: int) -> None:
        if self._ready:
            return
        view = self._view
        if (width, height) != (view.width(), view.height()) and self._size_retries < _SIZE_RETRIES:
            self._size_retries += 1
            QTimer.singleShot(_SIZE_RETRY_MS, self, lambda: self._page.runJavaScript(
                "window.dispatchMap._drawnAgain();", 0))
            return
        self._ready = True
        queued, self._queue = self._queue, []
        for script, callback in queued:
            self._run(script, callback)
        self.ready.emit()

    def _on_road_tiles_requested(self, keys: list[str]) -> None:
        # Answered at once, ready or not: the page is ready only once its roads are drawn.
        if self.road_tiles is None:  # a page opened before its basemap: answered by use_basemap
            self._waiting_tiles += keys
            return
        tiles = {key: self.road_tiles.payload(key) for key in keys}
        self._page.runJavaScript(f"window.dispatchMap._roadTiles({json.dumps(tiles)});", 0)

    def _on_render_process_terminated(self, status, exit_code: int) -> None:
        log.error("map renderer died (%s, %s); reloading the map page", status, exit_code)
        self._reload_page()

    def _reload_page(self) -> None:
        """Load the page again and replay the latest call per piece of map state."""
        self._ready = False
        self._size_retries = 0
        units = json.dumps(list(self._units.values()), ensure_ascii=False)
        self._state["units"] = f"window.dispatchMap.setUnits({units});"
        incidents = json.dumps(list(self._incidents.values()), ensure_ascii=False)
        self._state["incidents"] = f"window.dispatchMap.setIncidents({incidents});"
        order = ("view", "grids", "units", "incidents", "candidates", "highlight", "pick", "track")
        self._queue = [(self._state[k], None) for k in order if k in self._state]
        self._queue += [(script, None) for script in self._routes.values()]
        self._view.setUrl(QUrl.fromLocalFile(str(self.page_path)))

    def _on_load_finished(self, ok: bool) -> None:
        if not ok:
            log.error("map page failed to load: %s", self.page_path)
