"""Commands import only what they use: building the parser (what `--help` does) loads
neither the store, nor numpy, nor Qt (issue 13, item 4)."""
import subprocess
import sys


def test_help_loads_no_heavy_library():
    code = ("import sys; from dispatch.cli import build_parser; from ui.entry import UI_COMMANDS; "
            "build_parser(UI_COMMANDS); "
            "heavy = [m for m in ('sqlalchemy', 'numpy', 'scipy', 'numba', 'alembic', 'PySide6', "
            "'folium', 'pypinyin', 'rapidfuzz') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
