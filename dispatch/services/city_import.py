"""A whole city's OpenStreetMap extract (.osm or .osm.pbf) in one step: the road network
(as `roads import-osm`) and the gazetteer's named features (as `gazetteer import-osm`).

The preview reads the file, checks it element by element and counts what it would load
(dispatch.importers.city_extract); it writes nothing. The import checks the same again,
refuses the file whole when it has an error, builds the road graph into the cache, then in
one transaction replaces the gazetteer entries of the previous extract (source
OpenStreetMap) with the new ones, points the console's road network at the file and
appends one roads.imported event. A failure anywhere leaves the road network and the
gazetteer as they were (the cache holds graphs by file, so a new one is harmless).
A 管理员's action (data.import)."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select

from dispatch.domain import events as ev
from dispatch.domain.errors import DispatchError
from dispatch.domain.text_input import clean_text
from dispatch.geo.gazetteer import write_places
from dispatch.geo.osm import osm_format, read_osm
from dispatch.importers.city_extract import COUNT_LABELS, CityPlan, CityPreview, plan_city
from dispatch.services.context import Context, append_event, ensure_writable, require
from dispatch.store.schema import MetaRow, PlaceRow

OSM_SOURCE = "OpenStreetMap"
Progress = Callable[[str], None]
__all__ = ["COUNT_LABELS", "CityPreview", "OSM_SOURCE", "apply_city", "current_admin", "preview_city"]


def _quiet(_: str) -> None:
    pass


def current_admin(ctx: Context) -> list[str]:
    """The admin path of the gazetteer's OSM features now (the centre's area), most common first."""
    with ctx.store.reader() as s:
        paths = Counter(tuple(a or ()) for a in s.scalars(
            select(PlaceRow.admin).where(PlaceRow.source == OSM_SOURCE).limit(5000)))
    return list(paths.most_common(1)[0][0]) if paths else []


ADMIN_LEVELS, ADMIN_NAME_CHARS = 6, 40  # 省/市/区/街道/社区…: more, or a longer name, is a mistake


def _checked_admin(admin: list[str] | None) -> list[str] | None:
    """The administrative path as given, each name cleaned; refused when too deep or too long."""
    if admin is None:
        return None
    if len(admin) > ADMIN_LEVELS:
        raise DispatchError(f"行政区划最多 {ADMIN_LEVELS} 级（给了 {len(admin)} 级）")
    return [clean_text(a, "行政区划名称", required=True, limit=ADMIN_NAME_CHARS) for a in admin]


def _plan(ctx: Context, path: str | Path, admin: list[str] | None, progress: Progress, graph: bool) -> CityPlan:
    admin = _checked_admin(admin)
    path = Path(path)
    if path.is_dir():
        raise DispatchError(f"应给出一个 OSM 文件，{path} 是目录")
    if not path.is_file():
        raise DispatchError(f"找不到文件: {path}")
    osm_format(path)  # a file that is not OSM is refused before any progress is said
    progress("读取 OSM 文件…")
    osm = read_osm(path)
    progress(f"检查与统计（{len(osm.ways):,} 条道路/广场，{len(osm.nodes):,} 个节点）…")
    return plan_city(osm, path, admin if admin is not None else current_admin(ctx), OSM_SOURCE,
                     build_graph=graph)


def preview_city(ctx: Context, path: str | Path, admin: list[str] | None = None,
                 progress: Progress = _quiet) -> CityPreview:
    """What importing this extract would do — counts, bounds, problems by element; writes nothing."""
    t0 = time.perf_counter()
    p = _plan(ctx, path, admin, progress, graph=True).preview
    p.seconds["wall"] = round(time.perf_counter() - t0, 2)
    return p


def _refuse(p: CityPreview) -> None:
    if p.ok:
        return
    listed = "\n".join(str(e) for e in p.errors[:20])
    more = f"\n…共 {p.error_total} 处" if p.error_total > 20 else ""
    raise DispatchError(f"城市路网文件有 {p.error_total} 处错误，未导入任何数据：\n{listed}{more}")


def apply_city(ctx: Context, path: str | Path, cache_dir: str | Path, admin: list[str] | None = None,
               progress: Progress = _quiet) -> CityPreview:
    """Load the extract as the road network and the gazetteer's OSM features, all or nothing."""
    from dispatch.geo.road_tiles import file_sha256, tiles_for_osm
    from dispatch.geo.roads import cache_key

    ensure_writable(ctx)
    require(ctx, "data.import")
    t0 = time.perf_counter()
    path = Path(path).resolve()
    plan = _plan(ctx, path, admin, progress, graph=True)
    _refuse(plan.preview)
    progress("保存路网缓存…")
    cache = Path(cache_dir) / cache_key(path)
    cache.parent.mkdir(parents=True, exist_ok=True)
    plan.graph.save(cache)
    progress("切分地图路网瓦片…")  # every console's map then loads them (road_tiles: by the file's digest)
    tiles_dir = Path(cache_dir) / "road-tiles"
    tiles_for_osm(path, tiles_dir, plan.osm)
    sha256 = file_sha256(path, tiles_dir / "osm-sha256.json")  # hashed once, for the tiles and the log
    progress(f"写入地名库（{len(plan.places):,} 个地点）…")
    p = plan.preview
    with ctx.store.transaction(appends=True) as s:
        gone = s.execute(delete(PlaceRow).where(PlaceRow.source == OSM_SOURCE))
        replaced = int(getattr(gone, "rowcount", 0) or 0)
        write_places(s, plan.places)
        s.merge(MetaRow(key="roads_osm", value=str(path)))
        append_event(ctx, s, ev.ROADS_IMPORTED, payload={
            "file": path.name, "format": p.format, "sha256": sha256, "admin": list(p.admin),
            "counts": dict(p.counts), "bounds": list(p.bounds) if p.bounds else None,
            "replaced_places": replaced, "places": len(plan.places), "warnings": p.warning_total})
    seconds = dict(p.seconds, wall=round(time.perf_counter() - t0, 2))
    return CityPreview(p.file, p.format, p.admin, p.counts, p.bounds, p.errors, p.warnings, p.error_total,
                       p.warning_total, applied=True, replaced_places=replaced, seconds=seconds)
