"""Writes nopd_style_calls.csv: a MADE-UP call log in the shape of the New Orleans Police
Department's public "Calls for Service" export (its header names, 12-hour times with AM/PM,
America/Chicago with the 2024-11-03 fall-back hour read twice, blank arrival and dispatch
times, quoted fields with commas). No row is a real call. Deterministic (seeded)."""
from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

HEADER = ["NOPD_Item", "Type", "TypeText", "Priority", "InitialType", "InitialTypeText", "InitialPriority",
          "MapX", "MapY", "TimeCreate", "TimeDispatch", "TimeArrive", "TimeClosed", "Disposition",
          "DispositionText", "SelfInitiated", "Beat", "BLOCK_ADDRESS", "Zip", "PoliceDistrict", "Location"]
TYPES = [("103D", "DISTURBANCE (DOMESTIC), VERBAL", "2A"), ("21", "COMPLAINT OTHER", "1A"),
         ("67", "THEFT", "1C"), ("35", "SIMPLE BATTERY", "2C"), ("94F", "FIREWORKS", "1A"),
         ("20", "AUTO ACCIDENT", "1E"), ("62A", "BURGLAR ALARM, SILENT", "1A")]
DISPOSITIONS = [("GOA", "GONE ON ARRIVAL"), ("RTF", "REPORT TO FOLLOW"), ("NAT", "Necessary Action Taken"),
                ("VOI", "VOID")]
STREETS = ["Tulane Ave", "St Charles Ave", "Canal St", "N Broad St", "Elysian Fields Ave", "Magazine St"]
FMT = "%m/%d/%Y %I:%M:%S %p"


def main() -> None:
    rng = random.Random(20241103)
    rows = []
    t = datetime(2024, 11, 2, 22, 0, 0)  # local wall clock, America/Chicago
    for i in range(64):
        t += timedelta(seconds=rng.randint(60, 420))
        wall = t
        if datetime(2024, 11, 3, 2, 0) <= t < datetime(2024, 11, 3, 3, 0) and i % 2:
            wall = t - timedelta(hours=1)  # the clock fell back: 01:xx AM read a second time
        code, text, prio = rng.choice(TYPES)
        dispatch = None if rng.random() < 0.1 else wall + timedelta(seconds=rng.randint(20, 900))
        arrive = None if dispatch is None or rng.random() < 0.25 else dispatch + timedelta(seconds=rng.randint(120, 1500))
        closed = (arrive or dispatch or wall) + timedelta(seconds=rng.randint(300, 3600))
        disp = rng.choice(DISPOSITIONS)
        x, y = -90.07 + rng.uniform(-0.05, 0.05), 29.95 + rng.uniform(-0.03, 0.03)
        street = f"{rng.randint(1, 45):03d}XX {rng.choice(STREETS)}"
        rows.append([f"K{2024_11_02_00 + i:011d}", code, text, prio, code, text, prio,
                     f"{3660000 + rng.randint(0, 40000)}", f"{520000 + rng.randint(0, 40000)}",
                     wall.strftime(FMT), dispatch.strftime(FMT) if dispatch else "",
                     arrive.strftime(FMT) if arrive else "", closed.strftime(FMT), disp[0], disp[1],
                     "N" if i % 7 else "Y", f"{rng.randint(1, 8)}{rng.choice('ABCDEFGH')}{rng.randint(1, 9):02d}",
                     street, "70112", str(rng.randint(1, 8)), f"POINT ({x:.6f} {y:.6f})"])
    out = Path(__file__).with_name("nopd_style_calls.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        w.writerow(HEADER)
        w.writerows(rows)


if __name__ == "__main__":
    main()
