"""The national data shipped with the console (resources/national/, compressed, see
its README.md for sources and licences) and opening text files that may be
compressed (.xz, .gz, .bz2) with the standard library."""
from __future__ import annotations

import bz2
import csv
import gzip
import lzma
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from dispatch.domain.errors import DispatchError
from dispatch.importers.file_errors import csv_error_text, decode_error_text, os_error_text
from dispatch.settings import RESOURCES

NATIONAL_DIR = RESOURCES / "national"
NATIONAL_HIERARCHY = NATIONAL_DIR / "china-admin-hierarchy.txt.xz"
COUNTY_CENTRES = NATIONAL_DIR / "county-centres.csv.xz"
GEONAMES_TOWNS = NATIONAL_DIR / "cn-places-1000.csv.xz"
NINGBO_POIS = NATIONAL_DIR / "ningbo-pois.csv.xz"

_OPENERS = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}


def open_text(path: str | Path, what: str = "文件") -> TextIO:
    """A UTF-8 text file (BOM skipped, newlines kept for csv), decompressed on the fly
    by its suffix. DispatchError when it is missing or a directory."""
    path = Path(path)
    if path.is_dir():
        raise DispatchError(f"{what}应是一个文件，{path} 是目录")
    if not path.is_file():
        raise DispatchError(f"找不到{what}: {path}")
    opener = _OPENERS.get(path.suffix.lower())
    if opener is None:
        return path.open(encoding="utf-8-sig", newline="")
    return opener(path, "rt", encoding="utf-8-sig", newline="")  # type: ignore[operator]


@contextmanager
def reading(path: str | Path, what: str = "文件") -> Iterator[TextIO]:
    """open_text as a context; a file that is not UTF-8 text (binary, a broken
    archive, NUL bytes in a CSV) raises one DispatchError naming it."""
    path = Path(path)
    try:
        with open_text(path, what) as f:
            yield f
    except UnicodeDecodeError as exc:
        raise DispatchError(f"{what}{decode_error_text(exc)}: {path.name}") from None
    except (lzma.LZMAError, gzip.BadGzipFile, EOFError) as exc:
        why = "压缩内容不完整" if isinstance(exc, EOFError) else "压缩内容已损坏或不是该压缩格式"
        raise DispatchError(f"{what}不是可读的压缩文件（{why}）: {path.name}") from None
    except csv.Error as exc:
        raise DispatchError(f"{what}不是有效的 CSV（{csv_error_text(exc)}）: {path.name}") from None
    except OSError as exc:
        raise DispatchError(f"{what}无法读取（{os_error_text(exc)}）: {path.name}") from None


def csv_rows(reader: csv.DictReader, what: str) -> Iterator[dict]:
    """The rows of `reader` (made with strict=True, so that a quote left open is an error
    instead of swallowing the rest of the file into one field), a CSV error said in
    Chinese with the line its row starts on."""
    rows = iter(reader)
    while True:
        start = reader.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DispatchError(f"{what}第 {start} 行起: {csv_error_text(exc)}") from None
        yield row
