"""A whole city's OpenStreetMap extract (.osm or .osm.pbf) checked and counted before it
becomes the console's road network and the gazetteer's named features.

Problems are named by element: a node outside China is an error (the wrong file, or
longitude and latitude swapped) and refuses the extract; a way missing some of its nodes
(an extract cut by a bounding box) is a warning — the road is cut at the gap, as the road
graph does — and a way with fewer than two located nodes is a warning and is left out.
An extract without any drivable road is an error. No database here: the service
(dispatch.services.city_import) writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.domain.errors import DispatchError
from dispatch.geo.coords import in_china_many
from dispatch.geo.gazetteer import Place
from dispatch.geo.osm import NodeTable, OsmData
from dispatch.importers.gazetteer_osm import osm_places, present

PEDESTRIAN_HIGHWAYS = frozenset({"pedestrian", "footway", "living_street", "path", "steps"})
MAX_LISTED = 200  # problems listed by element; the totals count them all
COUNT_LABELS = {"drivable_ways": "可通行道路", "graph_nodes": "路网节点", "graph_edges": "路网有向边（驾车）",
                "named_streets": "有名道路", "pedestrian_streets": "其中步行街", "intersections": "路口",
                "squares": "广场", "pois": "兴趣点"}


@dataclass(frozen=True)
class ElementIssue:
    """A problem of one element of the extract: 'way 123' / 'node 45' and what is wrong."""

    element: str
    text: str

    def __str__(self) -> str:
        return f"{self.element}: {self.text}"


@dataclass(frozen=True)
class CityPreview:
    """What importing an extract would do (or did): its counts, bounds and problems."""

    file: str
    format: str  # osm / pbf
    admin: tuple[str, ...]
    counts: dict[str, int]
    bounds: tuple[float, float, float, float] | None
    errors: tuple[ElementIssue, ...]
    warnings: tuple[ElementIssue, ...]
    error_total: int
    warning_total: int
    applied: bool = False
    replaced_places: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_total == 0

    def summary(self) -> str:
        """One line in Chinese: 可通行道路 796、路网节点 2,213 …；错误 0、警告 3."""
        parts = "、".join(f"{COUNT_LABELS[k]} {v:,}" for k, v in self.counts.items())
        return f"城市路网：{parts}；错误 {self.error_total}、警告 {self.warning_total}"

    def bounds_text(self) -> str:
        if self.bounds is None:
            return "范围未知"
        lo, la, hi, ha = self.bounds
        return f"范围 {lo:.4f},{la:.4f} — {hi:.4f},{ha:.4f}"

    def as_json(self) -> dict[str, Any]:
        return {"what": "city", "file": self.file, "format": self.format, "applied": self.applied,
                "admin": list(self.admin), "counts": dict(self.counts),
                "bounds": list(self.bounds) if self.bounds else None,
                "errors": [{"element": e.element, "text": e.text} for e in self.errors],
                "warnings": [{"element": w.element, "text": w.text} for w in self.warnings],
                "error_total": self.error_total, "warning_total": self.warning_total,
                "replaced_places": self.replaced_places, "seconds": dict(self.seconds)}


@dataclass
class CityPlan:
    """The preview with what the import would write: the places and the road graph."""

    preview: CityPreview
    places: list[Place]
    graph: Any  # dispatch.geo.roads.RoadGraph; None without drivable roads or when not asked for
    osm: OsmData | None = None  # the extract as read (the import cuts the map's tiles from it, not a second read)


def _coords(osm: OsmData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(osm.nodes, NodeTable):
        return osm.nodes.ids, osm.nodes.lon, osm.nodes.lat
    ids = np.fromiter(osm.nodes.keys(), dtype=np.int64, count=len(osm.nodes))
    pts = np.array(list(osm.nodes.values()), dtype=np.float64).reshape(-1, 2)
    return ids, pts[:, 0], pts[:, 1]


def outside_china(osm: OsmData) -> tuple[list[ElementIssue], int]:
    """Nodes (of the kept ways and the named nodes) outside China: listed, and their total."""
    ids, lon, lat = _coords(osm)
    bad = np.flatnonzero(~in_china_many(lon, lat))
    return [ElementIssue(f"node {int(ids[i])}", f"坐标 {lon[i]:.6f},{lat[i]:.6f} 不在中国境内（经纬度颠倒或文件不对？）")
            for i in bad[:MAX_LISTED]], len(bad)


def gaps(osm: OsmData) -> tuple[list[ElementIssue], int]:
    """Ways missing nodes (cut at the gap) and ways with fewer than two located nodes (left
    out): listed, and their total."""
    ways = osm.ways
    lengths = np.fromiter((len(w.node_ids) for w in ways), dtype=np.int64, count=len(ways))
    refs = np.fromiter((n for w in ways for n in w.node_ids), dtype=np.int64, count=int(lengths.sum()))
    ok = present(osm, refs)
    owner = np.repeat(np.arange(len(ways)), lengths)
    starts = np.r_[0, np.cumsum(lengths)[:-1]] if len(ways) else lengths
    missing = np.bincount(owner[~ok], minlength=len(ways))
    located = np.bincount(owner[ok], minlength=len(ways))
    issues: list[ElementIssue] = []
    total = 0
    for k in np.flatnonzero((missing > 0) | (located < 2)).tolist():
        w = ways[k]
        what = w.name or w.highway or w.tags.get("place", "")
        flags = ok[starts[k]:starts[k] + lengths[k]].tolist()
        have = len({n for n, good in zip(w.node_ids, flags) if good})
        total += 1
        if len(issues) >= MAX_LISTED:
            continue
        if have < 2:
            issues.append(ElementIssue(f"way {w.id}", f"{what}：只有 {have} 个有坐标的节点，已略过"))
        else:
            first = [n for n, good in zip(w.node_ids, flags) if not good][:3]
            issues.append(ElementIssue(f"way {w.id}", f"{what}：缺少 {int(missing[k])} 个节点（"
                                       + "、".join(map(str, first)) + "，提取范围外？），道路在缺口处截断"))
    return issues, total


def plan_city(osm: OsmData, path: str | Path, admin: list[str], source: str, build_graph: bool = True) -> CityPlan:
    """Check and count an extract; with `build_graph`, also build its road graph (the
    graph's node and edge counts are part of the preview)."""
    import time

    from dispatch.domain.units import Travel
    from dispatch.geo.roads import RoadGraph

    t0 = time.process_time()
    errors, error_total = outside_china(osm)
    warnings, warning_total = gaps(osm)
    drivable = osm.drivable_ways()
    if not drivable:
        errors.append(ElementIssue("file", "文件中没有可通行车辆的道路（highway=primary/residential…）"))
        error_total += 1
    t1 = time.process_time()
    places = osm_places(osm, admin, source)
    t2 = time.process_time()
    graph = None
    if build_graph and drivable:
        try:
            graph = RoadGraph.from_osm(osm)
        except DispatchError as exc:
            errors.append(ElementIssue("file", str(exc)))
            error_total += 1
    t3 = time.process_time()
    roads = [p for p in places if p.kind == "road"]
    counts = {"drivable_ways": len(drivable),
              "graph_nodes": graph.node_count if graph is not None else 0,
              "graph_edges": graph.edge_count(Travel.CAR) if graph is not None else 0,
              "named_streets": len(roads),
              "pedestrian_streets": sum(p.extra.get("highway") in PEDESTRIAN_HIGHWAYS for p in roads),
              "intersections": sum(p.kind == "intersection" for p in places),
              "squares": sum(p.kind == "square" for p in places),
              "pois": sum(p.kind not in ("road", "intersection", "square") for p in places)}
    seconds = {"check_cpu": round(t1 - t0, 3), "gazetteer_cpu": round(t2 - t1, 3), "graph_cpu": round(t3 - t2, 3)}
    preview = CityPreview(Path(path).name, osm.format, tuple(admin), counts, osm.bounds, tuple(errors),
                          tuple(warnings), error_total, warning_total, seconds=seconds)
    return CityPlan(preview, places, graph, osm)
