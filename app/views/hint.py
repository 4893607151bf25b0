"""A hint over an empty view: says what to do when the view has nothing to show yet."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["OverlayHint"]

_PADDING = 12  # px left and right of the text, inside the frame
_STYLE = ("QLabel { color: #9aa0a8; background: rgba(27, 29, 33, 215); "
          f"border: 1px solid #3a3e45; border-radius: 4px; padding: 8px {_PADDING}px; }}")


class OverlayHint(QLabel):
    """A centred, click-through message over ``target``, shown while ``shown()`` is true.

    Parameters
    ----------
    target : QWidget
        The view the hint covers (its centre).
    text : str
        What the user can do to fill the view.
    shown : callable() -> bool
        Whether the view is empty now.
    signals : iterable of Signal
        Changes after which ``shown`` is asked again.
    """

    def __init__(self, target: QWidget, text: str, shown: Callable[[], bool],
                 signals: Iterable = ()) -> None:
        super().__init__(text, target)
        self._shown = shown
        self.setObjectName("overlay_hint")
        self.setAlignment(Qt.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet(_STYLE)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        for signal in signals:
            signal.connect(self.update_shown)
        target.installEventFilter(self)
        self.update_shown()

    def update_shown(self, *_) -> None:
        """Show the hint if the view is empty, hide it otherwise."""
        self.setVisible(bool(self._shown()))
        if not self.isHidden():
            self._place()
            self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Stay centred when the view is resized."""
        if event.type() == QEvent.Resize and not self.isHidden():
            self._place()
        return False

    def _place(self) -> None:
        area = self.parentWidget().rect()
        # One line if it fits in 70 % of the view; wrapped at that width otherwise.
        text = self.fontMetrics().horizontalAdvance(self.text()) + 2 * _PADDING + 4
        width = max(120, min(text, int(0.7 * area.width()), area.width() - 16))
        height = min(area.height() - 8, self.heightForWidth(width))
        self.setGeometry((area.width() - width) // 2, (area.height() - height) // 2,
                         width, height)
