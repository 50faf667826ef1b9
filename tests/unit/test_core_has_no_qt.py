"""The core must be usable without Qt: import every dispatch module in a clean
interpreter and check that no Qt, pyqtgraph or folium module got loaded."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_every_core_module_loads_no_qt():
    code = """
import importlib, pkgutil, sys
import dispatch
for m in pkgutil.walk_packages(dispatch.__path__, 'dispatch.'):
    if '.migrations' in m.name:
        continue
    importlib.import_module(m.name)
bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'folium'))
print(len([n for n in sys.modules if n.startswith('dispatch.')]))
sys.exit(1 if bad else 0) if not bad else print('LOADED', bad) or sys.exit(1)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.strip().splitlines()[-1]) > 20  # it really imported the core
