"""The national administrative register (provinces down to villages, with county centres
and GeoNames towns; shipped in resources/national/) loaded into a centre's gazetteer: a
管理员's action, from the console or `gazetteer import-admin` with no file."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.domain.errors import DispatchError
from dispatch.importers.admin_hierarchy import SOURCE, admin_places, write_admin_places
from dispatch.importers.data_files import COUNTY_CENTRES, GEONAMES_TOWNS, NATIONAL_HIERARCHY
from dispatch.services.context import Context, ensure_writable, require
from dispatch.store.schema import PlaceRow

Progress = Callable[[int, int], None]


def imported_count(s: Session) -> int:
    """How many places of the national register the gazetteer holds (0: not loaded)."""
    return int(s.scalar(select(func.count()).select_from(PlaceRow).where(PlaceRow.source == SOURCE)) or 0)


def load(ctx: Context, progress: Progress | None = None) -> int:
    """Read the shipped register and write it as places in one transaction; refused when
    it is already loaded or the actor may not manage the centre's data. Returns the count.
    The geocoder's index is rebuilt by its next load (the places table changed)."""
    ensure_writable(ctx)
    require(ctx, "gazetteer.import")
    with ctx.store.reader() as s:
        n = imported_count(s)
    if n:
        raise DispatchError(f"全国行政区划已导入（{n:,} 个地点），不重复导入")
    places = admin_places(NATIONAL_HIERARCHY, GEONAMES_TOWNS, COUNTY_CENTRES, progress=progress)
    with ctx.store.transaction() as s:
        if imported_count(s):  # another seat loaded it meanwhile
            raise DispatchError("全国行政区划已由其他席位导入")
        return write_admin_places(s, places, progress=progress)
