"""Hints over empty views: what to do when a view has nothing to show yet."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["OverlayHint", "install_hints"]

_PADDING = 12  # px left and right of the text, inside the frame
_STYLE = ("QLabel { color: #9aa0a8; background: rgba(27, 29, 33, 215); "
          f"border: 1px solid #3a3e45; border-radius: 4px; padding: 8px {_PADDING}px; }}")


class OverlayHint(QLabel):
    """A centred, click-through message over ``target``, shown while ``message()`` says one.

    Parameters
    ----------
    target : QWidget
        The view the hint covers (its centre).
    message : callable() -> str
        What the user can do to fill the view now, or "" when the view has content.
    signals : iterable of Signal
        Changes after which ``message`` is asked again.
    """

    def __init__(self, target: QWidget, message: Callable[[], str],
                 signals: Iterable = ()) -> None:
        super().__init__(target)
        self._message = message
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
        """Show the current message if there is one, hide the hint otherwise."""
        text = self._message()
        self.setText(text)
        self.setVisible(bool(text))
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


def install_hints(window) -> list[OverlayHint]:
    """The hints over ``window``'s (a MainWindow's) plots, each following the session."""
    document, reconstruction = window.document, window.reconstruction
    run = "No factorization yet — press Run (Ctrl+R) to split the mixture into components"

    def when(condition, text):
        return lambda: text if condition() else ""

    def reconstruction_message() -> str:
        if reconstruction.mode == "mixture":
            return ""
        if document.W is None:
            return "The model W·H appears here after Run"
        if reconstruction.mode == "component" and document.selected < 0:
            return "Select a component in the Components table to see its share"
        return ""

    no_factors = (document.factors_changed, document.audio_changed)
    return [
        OverlayHint(window.spectrogram.graphics,
                    when(lambda: document.magnitude is None and window.busy_bar.isHidden(),
                         "Open an audio file (Ctrl+O) or drop one on the window"),
                    (document.audio_changed, window.loader.busy_changed)),
        OverlayHint(window.activations, when(lambda: document.W is None, run), no_factors),
        OverlayHint(reconstruction.graphics, reconstruction_message,
                    (*no_factors, document.selection_changed,
                     reconstruction.mode_box.currentIndexChanged)),
        OverlayHint(window.templates, when(lambda: document.W is None, "One spectrum per "
                                           "component appears here after Run"), no_factors),
        OverlayHint(window.loss_plot, when(lambda: not document.losses, "The loss per "
                                           "iteration is drawn here while NMF runs"),
                    no_factors),
    ]
