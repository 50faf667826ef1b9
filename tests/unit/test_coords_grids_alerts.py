from datetime import datetime, timedelta, timezone

import pytest

from dispatch.domain.alerts import assignment_alert
from dispatch.geo.coords import gcj02_to_wgs84, haversine_m, parse_lonlat, wgs84_to_gcj02
from dispatch.geo.grids import GridIndex, lattice
from dispatch.domain.errors import DispatchError


def test_gcj02_offset_and_round_trip():
    lon, lat = 121.4737, 31.2304  # People's Square
    g = wgs84_to_gcj02(lon, lat)
    assert 300 < haversine_m(lon, lat, *g) < 700  # the known web-map offset
    back = gcj02_to_wgs84(*g)
    assert haversine_m(lon, lat, *back) < 0.05


def test_parse_lonlat_rejects_garbage():
    assert parse_lonlat("121.47,31.23") == (121.47, 31.23)
    for bad in ("abc", "121.47", "500,20", "-121.47,-31.23", "31.23,121.47", "nan,31"):
        with pytest.raises(DispatchError):
            parse_lonlat(bad)


def test_lattice_covers_the_box_and_points_fall_in_one_grid():
    box = (121.4611, 31.2196, 121.4863, 31.2412)
    cells = lattice(box, 400)
    assert 30 <= len(cells) <= 45
    idx = GridIndex([(gid, gid, ring) for gid, ring in cells])
    assert idx.grid_at(121.4737, 31.2304) is not None
    assert idx.grid_at(121.30, 31.10) is None
    assert idx.grid_at(box[0] + 1e-6, box[1] + 1e-6) == "A01"


def test_alerts_unacknowledged_then_overdue():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert assignment_alert(t0, None, None, 120, t0 + timedelta(seconds=30), 60, 300) is None
    assert assignment_alert(t0, None, None, 120, t0 + timedelta(seconds=61), 60, 300) == "未签收"
    ack = t0 + timedelta(seconds=10)
    assert assignment_alert(t0, ack, None, 120, t0 + timedelta(seconds=299), 60, 300) is None
    assert assignment_alert(t0, ack, None, 120, t0 + timedelta(seconds=301), 60, 300) == "超时未到场"
    assert assignment_alert(t0, ack, t0, 120, t0 + timedelta(hours=1), 60, 300) is None
