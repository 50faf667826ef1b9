"""Why a file could not be read, in Chinese: the operating system's, the decoder's, the
CSV reader's and the JSON parser's own words are English (and name Python's types), so a
message to the user is made from these instead. Standard library and the domain only (the
command line imports it when it reports an error)."""
from __future__ import annotations

import errno

from dispatch.domain.errors import reason_in_chinese

_OS = {
    errno.ENOENT: "文件或目录不存在",
    errno.EACCES: "没有读写权限",
    errno.EPERM: "操作不被允许（权限不足）",
    errno.EISDIR: "这是一个目录，不是文件",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "文件系统只读",
    errno.ENAMETOOLONG: "路径过长",
    errno.EEXIST: "文件已存在",
    errno.EIO: "读写出错（磁盘或设备故障？）",
    errno.EMFILE: "打开的文件过多",
    errno.ELOOP: "符号链接循环",
}


def os_error_text(exc: OSError) -> str:
    """An OSError's reason in Chinese (never its English strerror)."""
    if exc.errno in _OS:
        return _OS[exc.errno]
    return f"系统错误（错误号 {exc.errno}）" if exc.errno is not None else "无法读写"


def decode_error_text(exc: UnicodeDecodeError) -> str:
    return f"不是可读的 UTF-8 文本（第 {exc.start + 1} 字节附近无法解码）"


_CSV = (
    ("unexpected end of data", "引号未闭合（直到文件末尾都没有对应的结束引号）"),
    ("expected after", "结束引号后应紧跟逗号或换行"),
    ("line contains nul", "含 NUL 字符（是二进制文件吗？）"),
    ("field larger than field limit", "某个字段过长"),
    ("new-line character seen in unquoted field", "未加引号的字段中有换行符"),
)


def csv_error_text(exc: Exception) -> str:
    """A csv.Error's reason in Chinese."""
    return reason_in_chinese(str(exc), _CSV, "CSV 格式错误")


_JSON = (
    ("expecting value", "此处应为一个值"),
    ("expecting property name", "此处应为带双引号的属性名"),
    ("expecting ',' delimiter", "此处缺少逗号"),
    ("expecting ':' delimiter", "此处缺少冒号"),
    ("extra data", "有效内容之后还有多余内容"),
    ("unterminated string", "字符串缺少结束引号"),
    ("invalid control character", "字符串中有控制字符"),
    ("invalid \\escape", "无效的转义序列"),
    ("invalid \\uxxxx escape", "无效的 \\u 转义"),
)


def json_error_text(msg: str) -> str:
    """A json.JSONDecodeError's `msg` in Chinese."""
    return reason_in_chinese(msg, _JSON, "格式错误", prefix=True)
