"""The sweep's curves as a PNG: the only part of the command line that imports Qt."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["plot_sweep"]


def plot_sweep(points, best: int, path: Path) -> None:
    """Loss (log) and explained variance against k, drawn offscreen with pyqtgraph."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    import pyqtgraph.exporters
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    ks = [p.k for p in points]
    layout = pg.GraphicsLayoutWidget()
    layout.resize(900, 420)
    layout.setBackground("w")
    loss_plot = layout.addPlot(title="Loss at convergence", labels={"bottom": "k"})
    loss_plot.setLogMode(y=True)
    loss_plot.plot(ks, [p.loss for p in points], pen=pg.mkPen("#1f77b4", width=2), symbol="o")
    loss_plot.addLine(
        x=best,
        pen=pg.mkPen("#d62728", style=pg.QtCore.Qt.DashLine),
        label=f"elbow k={best}",
        labelOpts={"position": 0.9, "color": "#d62728"},
    )
    variance_plot = layout.addPlot(title="Explained variance", labels={"bottom": "k"})
    variance_plot.plot(
        ks, [p.explained_variance for p in points], pen=pg.mkPen("#2ca02c", width=2), symbol="o"
    )
    variance_plot.addLine(x=best, pen=pg.mkPen("#d62728", style=pg.QtCore.Qt.DashLine))
    layout.show()
    app.processEvents()
    exporter = pyqtgraph.exporters.ImageExporter(layout.scene())
    exporter.parameters()["width"] = 900
    exporter.export(str(path))
