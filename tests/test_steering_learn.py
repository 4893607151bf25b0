"""Learning a source from an example: semi-supervised NMF beats blind separation."""

import numpy as np

from dsp import nmf
from dsp.demo import ToneSpec, make_demo
from dsp.grouping import group_components
from dsp.refine import learn_templates, semi_supervised_start
from dsp.scores import sdr
from dsp.separation import separate
from dsp.stft import analyse

RATE, HOP = 16_000, 256


def target_alone_for_a_second():
    """Three tones; the 330 Hz target plays alone for the first second."""
    sources = (
        ToneSpec("target", 330.0, n_harmonics=8, rolloff=0.9, period=0.5, duty=0.7),
        ToneSpec("other", 220.0, n_harmonics=10, rolloff=1.1, period=0.7, duty=0.6, onset=1.0),
        ToneSpec("third", 110.0, n_harmonics=10, rolloff=1.3, period=1.1, duty=0.8, onset=1.0),
    )
    demo = make_demo(sources, duration=3.0, rate=RATE, channels=1)
    spec = analyse(demo.mixture.samples, RATE, n_fft=1024, hop=HOP)
    return demo, spec


def test_learning_from_a_selection_beats_blind_separation():
    demo, spec = target_alone_for_a_second()
    V = spec.magnitude()
    alone = RATE // HOP - 2  # frames of the first second, clear of the others' onset
    reference = demo.stems[0].samples

    learned = learn_templates(V[:, :alone], 2, seed=0)
    W0, H0 = semi_supervised_start(V, learned, 4, silent_frames=slice(0, alone), seed=0)
    solver = nmf.make_solver(V, 6, W=W0, H=H0, lock_W=[0, 1])
    solver.step(150)
    steered = sdr(reference, next(separate(spec, solver.W, solver.H, [[0, 1]])))

    blind = nmf.factorize(V, 6, max_iter=150, tol=0.0, seed=0)
    groups = group_components(blind.W, blind.H, 3, rate=RATE)
    best_blind = max(sdr(reference, stem) for stem in separate(spec, blind.W, blind.H, groups))

    # Measured: 11.4 dB steered, 9.9 dB for the best automatic group of the blind run.
    assert steered > 11.0
    assert steered > best_blind + 1.0


def test_the_learned_templates_stay_bit_identical_through_the_fit():
    _, spec = target_alone_for_a_second()
    V = spec.magnitude()
    learned = learn_templates(V[:, :40], 2, seed=0)
    W0, H0 = semi_supervised_start(V, learned, 3, seed=0)
    solver = nmf.make_solver(V, 5, W=W0, H=H0, lock_W=[0, 1])
    solver.step(20)
    np.testing.assert_array_equal(solver.W[:, :2], W0[:, :2])
    assert not np.array_equal(solver.W[:, 2:], W0[:, 2:])
