"""The spectrogram's component and mix images are the render path's masks, paint included."""

import numpy as np
import pytest

from app.views.spectrogram import _image_of, image_db
from dsp.guide import Steering
from dsp.separation import SoftMask


@pytest.fixture
def factors():
    rng = np.random.default_rng(4)
    W = rng.random((40, 5)).astype(np.float32)
    H = rng.random((5, 60)).astype(np.float32)
    V = (W @ H * rng.uniform(0.8, 1.2, (40, 60))).astype(np.float32)
    paint = np.zeros((2, 40, 60), np.float32)
    paint[0, 5:15, 10:30] = 1.0
    paint[1, 20:30, 35:50] = 0.7
    return V, W, H, Steering(paint, 5.0, np.array([0, 0, 1, 1, 1]))


@pytest.mark.parametrize("mode, gains", [("gains", [1, 0, 0.5, 0, 1]), ("component", None)])
def test_a_share_is_the_steered_mask_of_the_render_path_times_the_mixture(factors, mode, gains):
    V, W, H, steering = factors
    rows = np.arange(40)
    selected = 2
    g = np.array(gains, np.float32) if gains else np.eye(5, dtype=np.float32)[selected]
    db = _image_of(mode, V, rows, top_db=0.0, W=W, H=H, step=1, selected=selected,
                   gains=g, power=1.5, steering=steering, frames=slice(None))
    mask = SoftMask(W, H, power=1.5, steering=steering).mask(g)
    expected = 20 * np.log10(np.maximum(mask * V, 1e-10))
    np.testing.assert_allclose(db, expected, atol=1e-3)
    blind = image_db(mode, V, rows, top_db=0.0, W=W, H=H, step=1, selected=selected, gains=g,
                     power=1.5)
    assert np.abs(db - blind)[5:15, 10:30].max() > 1.0  # the paint shows where it was put
    np.testing.assert_allclose(db[:, :10], blind[:, :10], atol=1e-3)  # and nowhere else
