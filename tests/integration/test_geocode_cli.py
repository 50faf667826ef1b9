"""`geocode` on the command line: a bad batch line, a non-object JSON line or a
binary file refuses the whole batch with one line naming it (exit 2, nothing on
stdout); a limit outside 1..100 is refused; partial matches say so in --json."""
import json
import shutil

import pytest

from dispatch.cli import main


@pytest.fixture
def data_dir(tmp_path, demo_template):
    shutil.copy(demo_template, tmp_path / "dispatch.sqlite3")
    return tmp_path


def run(capsys, data_dir, *argv):
    code = main(["--data-dir", str(data_dir), "geocode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("content,says", [
    ('{"near": 5}\n', "第 1 行的 near"),
    ('福州路\n{"text": "豫园", "near": [121.48]}\n', "第 2 行的 near"),
    ('{"text": "豫园", "near": [999, 31]}\n', "不在中国境内"),
    ('{"text": "豫园", "near": [-121.47, -31.23]}\n', "第 1 行的 near 坐标 -121.47,-31.23 不在中国境内"),
    ('{"text": "豫园", "near": ["a", "b"]}\n', "第 1 行的 near"),
    ('[1, 2]\n', "第 1 行应是 JSON 对象"),
    ('福州路\n\n"字符串"\n', None),  # a plain line that happens to be quoted: searched as text
    ('{"text": 5}\n', "第 1 行的 text"),
    ('{"text": "豫园"\n', "第 1 行不是有效的 JSON"),
    ("[" * 5000 + "\n", "第 1 行"),
])
def test_bad_batch_line_is_one_line_exit_2(capsys, data_dir, tmp_path, content, says):
    f = tmp_path / "q.jsonl"
    f.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, data_dir, "--batch", str(f))
    if says is None:
        assert code == 0 and len(out.splitlines()) == 2
        return
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and says in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("payload", [bytes(range(256)) * 16, b"\xff\xfe\x00\x00abc", "福州路\x00".encode()])
def test_binary_batch_file_is_refused(capsys, data_dir, tmp_path, payload):
    f = tmp_path / "q.bin"
    f.write_bytes(payload)
    code, out, err = run(capsys, data_dir, "--batch", str(f))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "文本" in err


@pytest.mark.parametrize("limit", ["-5", "0", "101", "abc", "2.5"])
def test_limit_outside_range_is_refused(capsys, data_dir, limit):
    code, out, err = run(capsys, data_dir, "福州路", "--limit", limit)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "候选数量" in err


def test_good_batch_keeps_lines_and_marks_partial(capsys, data_dir, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('福州路\n{"text": "豫园", "near": [121.48, 31.23]}\n？？\n南京东路外滩\n', encoding="utf-8")
    code, out, _err = run(capsys, data_dir, "--batch", str(f), "--limit", "3")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 4 and rows[2] == []
    assert rows[0][0]["name"] == "福州路" and rows[0][0]["partial"] is False
    assert rows[1][0]["name"] == "豫园" and rows[1][0]["distance_m"] is not None
    assert rows[3] and all(c["partial"] for c in rows[3])


def test_partial_shown_in_text_output(capsys, data_dir):
    code, out, _err = run(capsys, data_dir, "南京东路外滩")
    assert code == 0 and out.splitlines()[0].startswith(" 1. ≈ ") and "部分匹配" in out
