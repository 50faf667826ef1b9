"""Chinese for pyqtgraph's own menus (right click on a chart: View All, Export..., the
axis and plot options). pyqtgraph asks QCoreApplication.translate for every such text,
and ships no translations: this translator answers for it."""
from __future__ import annotations

from PySide6.QtCore import QTranslator

_TEXTS: dict[str, str] = {
    # ViewBox menu
    "ViewBox options": "视图选项", "View All": "显示全部", "axis": "轴", "Mouse Mode": "鼠标模式",
    "3 button": "三键模式", "1 button": "单键模式",
    # scene menu and export dialog
    "Export...": "导出…", "Export": "导出", "Export format": "导出格式", "Export options": "导出选项",
    "Item to export:": "导出对象：", "Copy": "复制", "Close": "关闭",
    # axis panel
    "Manual": "手动", "Auto": "自动", "Visible Data Only": "仅可见数据", "Auto Pan Only": "仅自动平移",
    "Invert Axis": "反转坐标轴", "Mouse Enabled": "允许鼠标操作", "Link Axis:": "联动坐标轴：",
    # plot options
    "Plot Options": "图表选项", "Transforms": "变换", "Downsample": "降采样", "Average": "平均",
    "Alpha": "透明度", "Grid": "网格线", "Points": "数据点", "Show X Grid": "显示 X 网格线",
    "Show Y Grid": "显示 Y 网格线", "Opacity": "不透明度", "Log X": "X 对数", "Log Y": "Y 对数",
    "Power Spectrum (FFT)": "功率谱 (FFT)", "Subtract Mean": "减去均值", "Clip to View": "裁剪到视图",
    "Max Traces:": "最多曲线数：", "Forget hidden traces": "丢弃隐藏曲线", "Subsample": "抽样",
    "Mean": "均值", "Peak": "峰值",
}
_CONTEXTS = frozenset({"ViewBox", "PlotItem", "GraphicsScene", "Form", "ExportDialog"})


class ChartTranslator(QTranslator):
    """Answers pyqtgraph's translate() calls in Simplified Chinese."""

    def translate(self, context: str, source: str, disambiguation: str | None = None,  # noqa: D102
                  n: int = -1) -> str | None:
        # None (a null QString) lets Qt ask the next translator; "" would blank the text
        return _TEXTS.get(source) if context in _CONTEXTS else None

    def isEmpty(self) -> bool:  # noqa: N802 (Qt API)
        return False
