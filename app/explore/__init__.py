"""Explore and compare (issue 8): design a mixture, compare methods, choose k.

:func:`install_explore` adds an "Explore" menu to the main window; each entry
opens a non-modal window that stays alive (and keeps its results) until the
main window closes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from dsp.demo import DemoMixture

from ..services import Services
from .references import known_stems

__all__ = ["Explore", "install_explore"]


class Explore(QObject):
    """The explore windows of one main window and what they share.

    Attributes
    ----------
    designs : list of DemoMixture
        Mixtures loaded from the designer, newest last: their true stems make
        separations of them scorable.
    designer, comparison, sweep : QWidget or None
        The windows, created on first use.
    """

    def __init__(self, services: Services) -> None:
        super().__init__(services.parent)
        self._services = services
        self.designs: list[DemoMixture] = []
        self.designer = None
        self.comparison = None
        self.sweep = None
        menu = services.add_menu("E&xplore")
        self.actions = {}
        for key, text, tip, slot in (
            ("designer", "&Design a mixture…",
             "Build a mixture of synthetic sources and watch NMF separate it live",
             self.show_designer),
            ("comparison", "&Compare methods…",
             "Factor the spectrogram by PCA, k-means, NMF, sparse and deep NMF side by side",
             self.show_comparison),
            ("sweep", "Choose &k (sweep)…",
             "Loss, explained variance and SDR against the number of components",
             self.show_sweep),
        ):
            action = QAction(text, services.parent)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.actions[key] = action

    def references(self, audio):
        """The true stems of ``audio``: those the user loaded, else :func:`known_stems`."""
        loaded = self._services.document.references
        return list(loaded) if loaded else known_stems(audio, tuple(self.designs))

    def use_design(self, demo: DemoMixture) -> None:
        """Open a designed mixture in the session through the window's loader."""
        self.designs.append(demo)
        del self.designs[:-4]  # a few recent designs are enough to recognise the open one
        self._services.loader.open_demo(sources=demo.sources, duration=demo.mixture.duration,
                                     rate=demo.mixture.rate, channels=demo.mixture.channels)

    def show_designer(self):
        """Open (or raise) the mixture designer."""
        from .designer import DesignerDialog

        if self.designer is None:
            self.designer = DesignerDialog(self.use_design, self._services.parent)
        return self._raise(self.designer)

    def show_comparison(self):
        """Open (or raise) the method comparison."""
        from .compare import CompareView

        if self.comparison is None:
            services = self._services
            self.comparison = CompareView(services.document, services.control, services.parent)
        return self._raise(self.comparison)

    def show_sweep(self):
        """Open (or raise) the k sweep."""
        from .sweep_view import SweepView

        if self.sweep is None:
            services = self._services
            self.sweep = SweepView(services.document, services.control, self.references,
                                   services.parent)
        return self._raise(self.sweep)

    @staticmethod
    def _raise(widget):
        widget.show()
        widget.raise_()
        widget.activateWindow()
        return widget


def install_explore(services: Services) -> Explore:
    """Add the "Explore" menu through ``services`` and return what runs it."""
    return Explore(services)
