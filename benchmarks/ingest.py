"""Ingest benchmark: probe + standardize throughput and peak memory on a short and a 10x longer clip.

Run: ``python -m benchmarks.ingest``. Each clip is ingested in a fresh subprocess, so its peak RSS
(``VmHWM`` from ``/proc``) is its own; a decode-only pass in this process is the baseline.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from reelhouse.config import EncodeRecipe
from reelhouse.media import probe, standardize
from reelhouse.samples import title_spec
from reelhouse.samples.generator import generate_clip

WIDTH, HEIGHT, FPS = 640, 360, 24.0


def _ingest_child(src: Path, dst: Path) -> dict[str, float]:
    """Probe + standardize ``src`` with the default recipe; report times and this process's peak RSS."""
    t0 = time.perf_counter()
    record = probe(src)
    t1 = time.perf_counter()
    result = standardize(src, dst, EncodeRecipe())
    t2 = time.perf_counter()
    return {
        "media_s": record.duration_s,
        "probe_s": t1 - t0,
        "standardize_s": t2 - t1,
        "frames": result.frame_count,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage: its ru_maxrss survives exec, so a
    child would inherit the peak of the parent it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM (Linux only)")


def _decode_only(src: Path) -> float:
    """Seconds to decode every video and audio frame of ``src`` (threaded video decoding, no conversion)."""
    t0 = time.perf_counter()
    with av.open(str(src)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for _ in container.decode(*container.streams.video, *container.streams.audio):
            pass
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("SRC", "DST"), help=argparse.SUPPRESS)
    parser.add_argument("--short-s", type=float, default=10.0, help="length of the short clip (s)")
    parser.add_argument("--factor", type=int, default=10, help="long clip = factor x short clip")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_ingest_child(Path(args.child[0]), Path(args.child[1]))))
        return

    with tempfile.TemporaryDirectory(prefix="reelhouse-bench-") as tmp:
        work = Path(tmp)
        runs: dict[str, dict[str, float]] = {}
        for name, seconds in (("short", args.short_s), ("long", args.short_s * args.factor)):
            src = work / f"{name}.mp4"
            t0 = time.perf_counter()
            generate_clip(title_spec(0, seconds, width=WIDTH, height=HEIGHT, fps=FPS), src)
            print(
                f"generated {name}: {seconds:.0f} s at {WIDTH}x{HEIGHT} {FPS:g} fps in {time.perf_counter() - t0:.1f} s"
            )
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.ingest", "--child", str(src), str(work / f"{name}.std.mp4")],
                check=True,
                capture_output=True,
                text=True,
            )
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run["wall_s"] = time.perf_counter() - t0
            run["decode_only_s"] = _decode_only(src)
            runs[name] = run
            print(
                f"{name:>5}: {run['media_s']:.1f} media s, probe {run['probe_s']:.2f} s, "
                f"standardize {run['standardize_s']:.2f} s ({run['frames']} frames), "
                f"subprocess wall {run['wall_s']:.2f} s, "
                f"realtime x{run['media_s'] / run['wall_s']:.1f}, peak RSS {run['peak_rss_mb']:.0f} MB | "
                f"baseline decode-only {run['decode_only_s']:.2f} s (x{run['media_s'] / run['decode_only_s']:.1f})"
            )
    media = sum(r["media_s"] for r in runs.values())
    wall = sum(r["wall_s"] for r in runs.values())
    ratio = runs["long"]["peak_rss_mb"] / runs["short"]["peak_rss_mb"]
    print(f"overall realtime factor x{media / wall:.1f} (media seconds / wall seconds, incl. interpreter start)")
    print(f"peak RSS long/short = {ratio:.2f} (1.0 = memory flat in title length)")
    print(
        json.dumps(
            {
                "realtime_factor": round(media / wall, 2),
                "peak_rss_mb_short": round(runs["short"]["peak_rss_mb"], 1),
                "peak_rss_mb_long": round(runs["long"]["peak_rss_mb"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
