"""The spool on its own: frames survive a reopen, a torn frame at the end is cut off, a
segment goes only when all its requests are done, and one collector per spool."""

from __future__ import annotations

import pytest

from asp_telemetry.collector.spool import Spool, SpoolBusy


def test_frames_survive_and_a_torn_tail_is_cut_off(tmp_path):
    spool = Spool(tmp_path)
    for seq, body in ((spool.next_seq(), b"first"), (spool.next_seq(), b"second")):
        spool.append(seq, 1, "team-a" if seq == 1 else None, body)
    spool.close()  # as after kill -9: the frames are fsynced, nothing else happened
    [segment] = tmp_path.glob("*.spool")
    good_size = segment.stat().st_size
    with segment.open("ab") as handle:
        handle.write(b"ASPQ\x00\x00\x00\xff torn")  # a frame cut short by a crash

    again = Spool(tmp_path)
    frames = list(again.replay())
    assert [(f.seq, f.token, f.body) for f in frames] == [(1, "team-a", b"first"), (2, None, b"second")]
    assert segment.stat().st_size == good_size
    assert again.next_seq() == 3
    again.release(frames[0].segment, 1)
    assert segment.exists()  # one request of two is done
    again.release(frames[0].segment, 1)
    assert not segment.exists() and again.backlog_bytes == 0
    again.close()


def test_a_spool_has_one_collector(tmp_path):
    first = Spool(tmp_path)
    with pytest.raises(SpoolBusy, match="another collector uses the spool"):
        Spool(tmp_path)
    first.close()
    Spool(tmp_path).close()
