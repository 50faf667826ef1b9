"""Which 结警 result codes fit an incident. An incident that never had a unit, or is
still 未定性, cannot have been 查处/调解/救助 by the police: it is closed as 无效警情,
重复报警, 转办 or 告知/劝解. There is no default code: the call-taker chooses."""
from __future__ import annotations

from dataclasses import dataclass

from dispatch.domain.incidents import CATEGORY_BY_CODE, RESULT_CODES

# What a call-taker can conclude without any unit on the scene.
WITHOUT_UNIT: tuple[str, ...] = ("invalid", "duplicate", "transferred", "advised")


@dataclass(frozen=True, slots=True)
class ResultChoice:
    code: str
    label: str
    fits: bool
    why_not: str  # why it does not fit ("" when it does)


def unfit_reason(had_unit: bool, category: str) -> str:
    """Why only the no-unit codes fit ("" when every code fits)."""
    if not had_unit:
        return "从未派警"
    if category not in CATEGORY_BY_CODE:
        return "尚未定性"
    return ""


def result_choices(had_unit: bool, category: str) -> list[ResultChoice]:
    """Every result code, the fitting ones first (in the standard's order within each
    group). `had_unit`: a unit was ever dispatched; `category`: the incident's code
    ("" while 未定性)."""
    why = unfit_reason(had_unit, category)
    choices = [ResultChoice(code, label, not why or code in WITHOUT_UNIT,
                            "" if not why or code in WITHOUT_UNIT else why)
               for code, label in RESULT_CODES.items()]
    return [c for c in choices if c.fits] + [c for c in choices if not c.fits]
