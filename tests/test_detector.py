"""The detector is a pure state machine: these tests step sequences of results with explicit time."""

import pytest

from monitor.hosts.detector import Detector, State


def run(detector, results, start=0.0, step=10.0):
    """Feed results at start, start+step, ...; return (index, transition) for each transition."""
    out = []
    for i, ok in enumerate(results):
        t = detector.observe(ok, start + i * step)
        if t:
            out.append((i, t))
    return out


def test_initial_up_is_established_silently():
    """Two good checks establish UP from unknown; the transition exists but is not announced."""
    d = Detector(down_after=3, up_after=2)
    [(i, t)] = run(d, [True, True, True])
    assert i == 1 and t.previous is State.UNKNOWN and t.current is State.UP
    assert t.announce is False


def test_initial_down_is_announced():
    """Starting during an outage: the first established DOWN is announced."""
    d = Detector(down_after=3, up_after=2)
    [(i, t)] = run(d, [False, False, False])
    assert i == 2 and t.current is State.DOWN and t.announce is True and t.streak == 3
    assert t.duration_in_previous is None


def test_exact_thresholds():
    """DOWN needs exactly down_after consecutive failures; one fewer does nothing."""
    d = Detector(down_after=3, up_after=2, state=State.UP, since=0.0)
    assert run(d, [False, False]) == []
    t = d.observe(False, 100.0)
    assert t is not None and t.current is State.DOWN and t.at == 100.0
    assert t.duration_in_previous == 100.0


def test_single_lost_check_does_not_flip():
    """The Netwatch failure mode: one lost check among good ones never changes state."""
    d = Detector(down_after=3, up_after=2, state=State.UP, since=0.0)
    assert run(d, [True, False, True, False, False, True, True, False, True]) == []
    assert d.state is State.UP


def test_flapping_host_recovers_with_up_after_and_reports_down_for():
    """down → up needs up_after consecutive goods; a good-bad-good flap is not enough."""
    d = Detector(down_after=2, up_after=3, state=State.UP, since=0.0)
    seq = [False, False, True, False, True, True, False, True, True, True]
    trans = run(d, seq)
    assert [(i, t.current) for i, t in trans] == [(1, State.DOWN), (9, State.UP)]
    up = trans[1][1]
    assert up.duration_in_previous == pytest.approx(80.0)  # down at t=10, up at t=90
    assert up.streak == 3 and up.announce


def test_one_transition_per_change():
    """A long outage yields exactly one DOWN, not one per failed check."""
    d = Detector(down_after=1, up_after=1)
    trans = run(d, [False] * 20 + [True] * 20)
    assert [t.current for _, t in trans] == [State.DOWN, State.UP]


def test_restored_down_state_is_not_reannounced():
    """A host persisted as DOWN (restart) stays DOWN silently and announces only its recovery."""
    d = Detector(down_after=3, up_after=2, state=State.DOWN, since=1000.0)
    trans = run(d, [False] * 5 + [True, True], start=2000.0)
    assert len(trans) == 1 and trans[0][1].current is State.UP
    assert trans[0][1].duration_in_previous == pytest.approx(2060.0 - 1000.0)


def test_invalid_thresholds_rejected():
    """Thresholds below 1 make no sense and are refused."""
    with pytest.raises(ValueError):
        Detector(down_after=0, up_after=1)
