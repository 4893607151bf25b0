"""Partwise workstation: the Qt (PySide6 + pyqtgraph) application over ``dsp``."""
