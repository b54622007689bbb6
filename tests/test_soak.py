"""A long run: the runtime's memory and shared-memory footprint stay flat."""

from __future__ import annotations

import numpy as np
import psutil
import pytest
from tqdm import tqdm

from lsd_runtime.client import RuntimeClient
from lsd_runtime.scene import render
from lsd_runtime.shm_transport import list_segments
from lsd_runtime.testing import RuntimeProcess

SOAK_FRAMES = 20_000
WARMUP = 1_000


@pytest.mark.slow
def test_20000_frames_keep_rss_and_segments_flat():
    with RuntimeProcess() as rt, RuntimeClient(rt.endpoint, rt.token) as client:
        proc = psutil.Process(rt.pid)
        client.bind(128, 128, "rgba8")
        client.set_style(style="toon")
        frames = [render(i * 3, 128, 128) for i in range(8)]
        segments = set(list_segments(f"lsd-{rt.pid}-"))
        assert len(segments) == 6
        rss = []
        done = dropped = 0
        outstanding = 0
        for i in tqdm(range(SOAK_FRAMES + WARMUP), desc="soak", unit="frame", mininterval=2):
            if i == WARMUP:
                rss.append(proc.memory_info().rss)
            assert client.submit(frames[i % 8], wait=5) is not None
            outstanding += 1
            if outstanding == 2:
                r = client.receive(10)
                outstanding -= 1
                done += r.image is not None
                dropped += r.image is None
            if i % 2000 == 0:
                assert set(list_segments(f"lsd-{rt.pid}-")) == segments
        while outstanding:
            r = client.receive(10)
            outstanding -= 1
            done += r.image is not None
        rss.append(proc.memory_info().rss)
        growth_mb = (rss[-1] - rss[0]) / 2**20
        print(f"\nsoak: {done} frames done, {dropped} superseded, RSS {rss[0] / 2**20:.1f} MB -> "
              f"{rss[-1] / 2**20:.1f} MB (growth {growth_mb:+.2f} MB)")
        assert growth_mb < 5.0
        assert set(list_segments(f"lsd-{rt.pid}-")) == segments
        assert done > SOAK_FRAMES // 2
        stats = client.stats()
        assert stats["frames_in"] == SOAK_FRAMES + WARMUP
        assert stats["frames_done"] + stats["frames_dropped"] == SOAK_FRAMES + WARMUP
        last = client.process(frames[0])
        assert isinstance(last, np.ndarray)
