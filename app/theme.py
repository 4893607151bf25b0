"""Look of the workstation: dark Fusion palette, style sheet, pyqtgraph defaults, colours, icons."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

from .colours import component_colour

__all__ = [
    "BACKGROUND", "COLOUR_MAP", "ICONS", "IconStyle", "apply_theme", "component_colour", "icon",
    "resource",
]

BACKGROUND = "#1b1d21"
FOREGROUND = "#c9ccd1"
#: Perceptually uniform, dark at silence: quiet detail stays visible, loud partials glow.
COLOUR_MAP = "inferno"


_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
_DISABLED = "#5d6168"

#: The shipped icons (``resources/icons/<name>.svg``), drawn in FOREGROUND on a dark theme.
ICONS = ("open", "run", "pause", "step", "continue", "stop", "reset", "play", "loop")
#: Standard pixmaps the workstation uses, answered with the shipped icons: Fusion's own
#: are dark glyphs, nearly invisible on this background (and blank when disabled).
_STANDARD_ICONS = {
    QStyle.SP_MediaPlay: "play",
    QStyle.SP_MediaPause: "pause",
    QStyle.SP_MediaStop: "stop",
    QStyle.SP_MediaSeekForward: "step",
    QStyle.SP_MediaSkipForward: "continue",
    QStyle.SP_BrowserReload: "reset",
    QStyle.SP_DialogOpenButton: "open",
}


def resource(name: str) -> Path:
    """Path of a shipped resource file (icons, style sheet)."""
    return _RESOURCES / name


@cache
def icon(name: str) -> QIcon:
    """The shipped icon ``name`` (one of :data:`ICONS`), with a dimmed disabled state.

    Rendered from the SVG at the usual toolbar and menu sizes, so it needs no icon
    theme and no SVG icon-engine plugin.
    """
    path = resource(f"icons/{name}.svg")
    if name not in ICONS or not path.exists():
        raise ValueError(f"no icon {name!r} in {path.parent} (known: {', '.join(ICONS)})")
    svg = path.read_text(encoding="utf-8")
    dimmed = re.sub(r"#[0-9a-fA-F]{6}", _DISABLED, svg)
    result = QIcon()
    for size in (16, 20, 24, 32, 48):
        result.addPixmap(_render_svg(svg, size), QIcon.Normal)
        result.addPixmap(_render_svg(dimmed, size), QIcon.Disabled)
    return result


def _render_svg(svg: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


class IconStyle(QProxyStyle):
    """Fusion, but the media and reload standard icons are the shipped, theme-coloured ones."""

    def standardIcon(self, standard_icon, option=None, widget=None) -> QIcon:  # noqa: N802
        """The shipped icon for the transport's standard pixmaps, Fusion's for the rest."""
        name = _STANDARD_ICONS.get(standard_icon)
        if name is not None:
            return icon(name)
        return super().standardIcon(standard_icon, option, widget)


def apply_theme(app: QApplication) -> None:
    """Dark Fusion style for widgets and matching pyqtgraph defaults."""
    pg.setConfigOptions(
        background=BACKGROUND, foreground=FOREGROUND, imageAxisOrder="row-major", antialias=False
    )
    app.setStyle(IconStyle("Fusion"))
    palette = QPalette()
    colours = {
        QPalette.Window: "#23262b",
        QPalette.WindowText: FOREGROUND,
        QPalette.Base: BACKGROUND,
        QPalette.AlternateBase: "#282b31",
        QPalette.Text: FOREGROUND,
        QPalette.Button: "#2d3138",
        QPalette.ButtonText: FOREGROUND,
        QPalette.Highlight: "#3d6fb4",
        QPalette.HighlightedText: "#ffffff",
        QPalette.ToolTipBase: "#2d3138",
        QPalette.ToolTipText: FOREGROUND,
        QPalette.PlaceholderText: "#7d828a",
        QPalette.Link: "#6aa7f0",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6b6f76"))
    palette.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#6b6f76"))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#6b6f76"))
    app.setPalette(palette)
    style_sheet = resource("style.qss")
    if style_sheet.exists():
        app.setStyleSheet(style_sheet.read_text(encoding="utf-8"))
