"""The indexes' time columns (replay.incident_table._flat_times): runs of doubles kept
as array('d') joined as bytes give the same floats as reading each one, in order."""
from __future__ import annotations

from array import array

from dispatch.replay.incident_table import _flat_times


def test_runs_of_doubles_are_joined_in_order_and_plain_lists_still_work():
    runs = [array("d", [1793552400.25, 1793552401.0]), array("d"), array("d", [0.1 + 0.2])]
    assert _flat_times(runs, 3).tolist() == [1793552400.25, 1793552401.0, 0.1 + 0.2]
    assert _flat_times([[2.5], [3.5, 4.5]], 3).tolist() == [2.5, 3.5, 4.5]
    assert _flat_times([], 0).tolist() == []
