"""Edits of the factors: split, delete, zero."""

import numpy as np

from dsp import nmf
from dsp.refine import component_share, delete_components, split_component, zero_component

M, N = 64, 120
NOTE_A = np.exp(-0.5 * ((np.arange(M) - 12) / 1.5) ** 2)
NOTE_B = np.exp(-0.5 * ((np.arange(M) - 40) / 1.5) ** 2)
FLOOR = np.full(M, 0.05)


def fitted(V, W, H, iterations=50):
    solver = nmf.make_solver(V, W.shape[1], W=W, H=H)
    solver.step(iterations)
    return np.array(solver.W), np.array(solver.H)


def two_notes_in_one_component():
    """Two alternating notes and a floor, factored with one component for both notes."""
    act_a = (np.arange(N) % 30 < 15).astype(float)
    V = np.outer(NOTE_A, act_a) + np.outer(NOTE_B, 1 - act_a) + np.outer(FLOOR, np.ones(N))
    V = V.astype(np.float32) + 1e-3
    W = np.stack([NOTE_A + NOTE_B, FLOOR], axis=1).astype(np.float32)
    return (V, *fitted(V, W, np.ones((2, N), np.float32)))


def test_split_yields_two_components_whose_shares_sum_to_the_original():
    # A chord held throughout: one component fits it exactly, so its share is well defined.
    level = 1 + 0.5 * np.sin(np.arange(N) / 7)
    V = (np.outer(NOTE_A + NOTE_B, level) + np.outer(FLOOR, np.ones(N))).astype(np.float32)
    W, H = fitted(V, np.stack([NOTE_A + NOTE_B, FLOOR], 1).astype(np.float32),
                  np.ones((2, N), np.float32), iterations=200)
    original = component_share(V, W, H, 0)
    W2, H2 = split_component(V, W, H, 0)
    assert W2.shape == (M, 3) and H2.shape == (3, N)
    together = component_share(V, W2, H2, 0) + component_share(V, W2, H2, 1)
    np.testing.assert_allclose(together, original, rtol=1e-2, atol=1e-3 * original.max())
    np.testing.assert_array_equal(W2[:, 2], W[:, 1])  # the other component is untouched


def test_split_separates_two_notes_held_in_one_component():
    V, W, H = two_notes_in_one_component()
    W2, H2 = split_component(V, W, H, 0)
    assert np.argmax(W2[:, 0]) == 12 and np.argmax(W2[:, 1]) == 40  # lower note first
    before = np.linalg.norm(V - W @ H)
    assert np.linalg.norm(V - W2 @ H2) < 0.2 * before


def test_delete_and_zero():
    V, W, H = two_notes_in_one_component()
    W1, H1 = delete_components(W, H, [0])
    np.testing.assert_array_equal(W1[:, 0], W[:, 1])
    assert H1.shape == (1, 120)
    assert not zero_component(H, 1)[1].any() and H[1].any()
