"""Hostile place text for the geocoder's worst case: what a stuck key, a paste of a
whole narrative, a wrong keyboard layout or a deliberate attack puts in the place
field. Used by the fuzz test and by `bench geocode` (the worst time over them)."""
from __future__ import annotations

import random

# Real names of the demo area and of the national hierarchy, repeated to make the
# gathering steps find something at every position.
REAL_NAMES = ("福州路", "西藏中路", "南京西路", "九江路", "江西中路", "河南中路", "中山东一路", "人民广场",
              "浙江省", "宁波市", "余姚市", "马渚镇", "斗门村", "黄浦区", "上海市", "和平村")
_SPEECH = ("喂", "你们快来", "我在", "附近", "对面", "门口", "和", "与", "路口", "中间", "那一段", "到",
           "有人打架", "，", "。", "100号", "往东100米", "（", "）", " ")
_NASTY = ("'", '"', ";", "--", "/*", "*/", "\\", "%", "_", "DROP TABLE places;", "' OR 1=1 --",
          "\x00", "\x1b[31m", "\r\n", "\t", "\u200b", "\u202e", "\ufeff", "😀", "🚓", "👨‍👩‍👧",
          "ﾃｽﾄ", "Ｆｕｚｈｏｕ", "абв", "العربية", "한국어", "ひらがな", "ǖǘǚǜ", "𠀀𪚥")


_CJK = range(0x4E00, 0x9FA6)


def _cjk(rng: random.Random, n: int) -> str:
    return "".join(map(chr, rng.choices(_CJK, k=n)))


def _one(rng: random.Random, k: int) -> str:
    kind = k % 16
    if kind == 0:
        return rng.choice(["", " ", "\t\n", "　　", "\x00", "。。。", "？？", "啊" * rng.randint(1, 300)])
    if kind == 1:
        return _cjk(rng, rng.randint(1, 40))
    if kind == 2:
        return _cjk(rng, rng.randint(100, 1000))
    if kind == 3:
        return "".join(rng.choice(REAL_NAMES) for _ in range(rng.randint(2, 200)))
    if kind == 4:
        return "".join(rng.choice(REAL_NAMES + _SPEECH) for _ in range(rng.randint(3, 150)))
    if kind == 5:
        return "".join(rng.choice(_NASTY) for _ in range(rng.randint(1, 40)))
    if kind == 6:
        return "".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(1, 200))
                       ).encode("utf-8", "replace").decode("utf-8", "replace")
    if kind == 7:
        return rng.choice("abcdefghijklmnopqrstuvwxyz' ") * rng.randint(1, 5000)
    if kind == 8:
        return "".join(rng.choice(["fzl", "xzzl", "fuzhoulu", "xizangzhonglu", " ", "'"])
                       for _ in range(rng.randint(2, 400)))
    if kind == 9:
        return rng.choice(["路", "在", "附近", "和", "口", "村", "市", "号", "(", "1", "一百"]) * rng.randint(2, 3000)
    if kind == 10:
        return rng.choice(REAL_NAMES) + _cjk(rng, rng.randint(1, 60)) + rng.choice(REAL_NAMES)
    if kind == 11:
        return "".join(rng.choice(["浙江省", "宁波市", "余姚市", "马渚镇", "上海市", "黄浦区"])
                       for _ in range(rng.randint(2, 100))) + rng.choice(REAL_NAMES)
    if kind == 12:
        return rng.choice(REAL_NAMES) * rng.randint(100, 3500)
    if kind == 13:
        return "".join(rng.choice(REAL_NAMES + _NASTY + _SPEECH) + _cjk(rng, rng.randint(0, 3))
                       for _ in range(rng.randint(1, 60)))
    if kind == 14:
        return str(rng.randint(0, 10 ** 30)) * rng.randint(1, 50) + rng.choice(["号", "弄", "米", "号楼"])
    return _cjk(rng, 10_000)


def hostile_inputs(seed: int = 0, n: int = 10_000) -> list[str]:
    """n hostile strings, the same for the same seed: empty and whitespace, emoji and
    control characters, SQL quotes, mixed scripts, random CJK of any length up to
    10,000 characters, long repeated road and administrative names, pinyin runs."""
    rng = random.Random(seed)
    return [_one(rng, k) for k in range(n)]


def worst_case(geocoder, seed: int = 0, n: int = 10_000) -> dict:  # noqa: ANN001 (geo.geocoder.Geocoder)
    """CPU time of the geocoder over n hostile inputs: the worst search (with the
    length of its input), the 99th percentile and the total, and how many raised
    something other than DispatchError (must be 0)."""
    import time

    from dispatch.domain.errors import DispatchError

    times: list[tuple[float, int]] = []
    crashes = 0
    for text in hostile_inputs(seed, n):
        t0 = time.process_time()
        try:
            geocoder.search(text, limit=10)
        except DispatchError:
            pass
        except Exception:  # noqa: BLE001 (counted: the figure the bench must report as 0)
            crashes += 1
        times.append(((time.process_time() - t0) * 1000, len(text)))
    ordered = sorted(t for t, _ in times)
    worst = max(times) if times else (0.0, 0)
    return {"hostile_inputs": n, "worst_ms_cpu": round(worst[0], 2), "worst_input_chars": worst[1],
            "p99_ms_cpu": round(ordered[int(0.99 * (len(ordered) - 1))], 3) if ordered else 0.0,
            "total_s_cpu": round(sum(ordered) / 1000, 2), "crashes": crashes}
