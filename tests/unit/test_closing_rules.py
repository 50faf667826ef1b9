"""Which result codes fit an incident at 结警 (no database, no Qt)."""
from dispatch.domain.closing import result_choices
from dispatch.domain.incidents import RESULT_CODES


def _fitting(had_unit, category):
    return [c.label for c in result_choices(had_unit, category) if c.fits]


def test_never_dispatched_call_fits_only_the_no_unit_results():
    assert _fitting(False, "dispute") == ["无效警情", "重复报警", "转办", "告知/劝解"]
    choices = result_choices(False, "dispute")
    assert [c.label for c in choices][:4] == ["无效警情", "重复报警", "转办", "告知/劝解"]
    handled = next(c for c in choices if c.label == "查处")
    assert not handled.fits and handled.why_not == "从未派警"


def test_uncategorised_call_fits_only_the_no_unit_results_even_with_a_unit():
    assert "查处" not in _fitting(True, "")
    assert next(c for c in result_choices(True, "") if c.label == "调解").why_not == "尚未定性"


def test_dispatched_and_categorised_fits_every_code():
    choices = result_choices(True, "theft")
    assert all(c.fits for c in choices)
    assert sorted(c.code for c in choices) == sorted(RESULT_CODES)
