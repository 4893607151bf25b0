"""The settings of a batch run, the same for every file, and their stable hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from dsp import __version__
from dsp.pipeline import Settings
from dsp.project_file import file_sha256

__all__ = ["Request"]


@dataclass(frozen=True)
class Request:
    """How every file of a run is separated and written (picklable: it travels to workers).

    Attributes
    ----------
    settings : Settings
        The separation's settings (a session's, when ``session`` is given).
    chosen_components : bool
        Whether ``settings.n_components`` was chosen; if not, each file gets
        the default for its sources and its length.
    session, guide : Path or None
        A saved session to replay, or paint to steer by (read by each task).
    file_format, sample_format : str
        How stems are stored.
    protect : tuple of Path
        Files no stem set may replace (the inputs, the session, the guide).
    """

    settings: Settings
    chosen_components: bool = True
    session: Path | None = None
    guide: Path | None = None
    file_format: str = "wav"
    sample_format: str = "pcm24"
    protect: tuple[Path, ...] = ()

    @cached_property
    def settings_hash(self) -> str:
        """A digest of everything besides the audio that makes a file's stems.

        The settings, the content of the session and guide files, the stem
        format and Partwise's version; not the paths, so moving the session
        file keeps the hash. Two runs with one hash write the same stems for
        the same file. Computed once (the files are read then) and pickled
        with the request, so workers do not read them again.
        """
        described = {
            "partwise": __version__,
            "settings": asdict(self.settings),
            "chosen_components": self.chosen_components,
            "session": file_sha256(self.session) if self.session else None,
            "guide": file_sha256(self.guide) if self.guide else None,
            "format": [self.file_format, self.sample_format],
        }
        text = json.dumps(described, sort_keys=True, allow_nan=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
