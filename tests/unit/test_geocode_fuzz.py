"""Hostile text never breaks or stalls the geocoder: 10,000 strings (empty,
whitespace, emoji, control characters, SQL quotes, mixed scripts, random CJK,
10,000-character Chinese, long repeated road and administrative names) against the
demo gazetteer; only DispatchError may come out, and no search takes more than
WORST_CPU_MS of CPU time (it took 328 s for 400 characters before the caps)."""
import gc
import time

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.geo.hostile_text import hostile_inputs
from dispatch.geo.text import MAX_PLACE_CHARS, normalise

from tests.unit.geocode_fixtures import build_geocoder, demo_places

WORST_CPU_MS = 50.0


@pytest.fixture(scope="module")
def geo():
    return build_geocoder(demo_places())


def test_hostile_inputs_are_varied_and_repeatable():
    xs = hostile_inputs(7, 2000)
    assert xs == hostile_inputs(7, 2000)
    assert "" in xs and any(len(x) >= 10_000 for x in xs)
    assert any("'" in x for x in xs) and any("\x00" in x for x in xs)
    assert any(ord(c) > 0xFFFF for x in xs for c in x)


def test_ten_thousand_hostile_strings(geo):
    worst, worst_text, refused = 0.0, "", 0
    gc.collect()
    gc.disable()  # a collector pause is not the geocoder's work
    try:
        for text in hostile_inputs(2026, 10_000):
            t0 = time.process_time()
            try:
                cands = geo.search(text, limit=5)
            except DispatchError as exc:
                assert str(exc)
                refused += 1
                cands = []
            dt = (time.process_time() - t0) * 1000
            if dt > worst:
                worst, worst_text = dt, text
            for c in cands:
                assert c.name and 0.0 <= c.score <= 1.0
    finally:
        gc.enable()
    assert worst <= WORST_CPU_MS, (worst, worst_text[:80], len(worst_text))
    assert 0 < refused < 10_000


def test_long_input_is_cut_and_reported(geo):
    text = "九江路" + "很长很长的描述" * 2000
    norm = normalise(text)
    assert len(norm.text) == MAX_PLACE_CHARS and norm.cut == len(text) - MAX_PLACE_CHARS
    c = geo.search(text)[0]
    assert c.name == "九江路" and c.cut == norm.cut and c.partial


def test_control_characters_are_spaces():
    assert normalise("福州路\x00西藏中路\u200b").text == "福州路 西藏中路"
