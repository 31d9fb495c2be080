"""Run the benchmarks and write ``benchmarks/RESULTS.md``: date, machine, and each one's last-line JSON.

    .venv/bin/python -m benchmarks.run                 # every benchmark, in BENCHMARKS order (what `make bench` runs)
    .venv/bin/python -m benchmarks.run ann sql         # only these; the others keep their last results
    .venv/bin/python -m benchmarks.run --list          # names, and what each one's targets are

Each benchmark runs as its own process (``python -m benchmarks.NAME``), one after another, so none
competes with another for the cores. Its whole output goes to ``benchmarks/logs/NAME.log`` (not
committed); its last line must be one JSON object. The results of every benchmark ever run here are
kept in ``benchmarks/results.json`` (one entry per benchmark: the JSON, exit status, wall seconds, date,
load average before and after, and the machine), and ``RESULTS.md`` is rendered from it, with each
target checked against the figures. A benchmark that fails or prints no JSON is recorded as such;
the run goes on with the next one and exits non-zero at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
LOGS = HERE / "logs"


@dataclass(frozen=True)
class Target:
    """One target on a benchmark's last-line JSON: ``check(figures)`` is True when it is met."""

    text: str
    check: Callable[[dict], bool]


def _ge(key: str, value: float) -> Target:
    return Target(f"`{key}` >= {value:g}", lambda r: r[key] >= value)


def _le(key: str, value: float) -> Target:
    return Target(f"`{key}` <= {value:g}", lambda r: r[key] <= value)


def _lt(key: str, value: float) -> Target:
    return Target(f"`{key}` < {value:g}", lambda r: r[key] < value)


def _eq(key: str, value: object) -> Target:
    return Target(f"`{key}` = {json.dumps(value)}", lambda r: r[key] == value)


def _per_batch(key: str) -> Target:
    """``key`` at most the number of batches of the run's titles plus 2 (issue 18: 256 / batch size + 2)."""
    return Target(f"`{key}` <= ceil(`titles` / `batch_size`) + 2",
                  lambda r: r[key] <= math.ceil(r["titles"] / r["batch_size"]) + 2)


def _beats(prefix: str) -> list[Target]:
    ctx, avg, cat = f"{prefix}contextual", f"{prefix}moving_average", f"{prefix}concat"
    return [Target(f"`{ctx}` >= `{avg}`", lambda r: r[ctx] >= r[avg]),
            Target(f"`{ctx}` > `{cat}` + 0.05", lambda r: r[ctx] > r[cat] + 0.05)]


#: Every benchmark, in the order `make bench` runs them, with the targets its issue sets.
BENCHMARKS: dict[str, list[Target]] = {
    "ann": [_eq("dim", 1280), _ge("vectors", 1_000_000), _ge("recall_at_10", 0.95), _le("p99_ms", 10)],
    "match_cuts": [_ge("shots", 200_000), _ge("recall_vs_exact", 0.95), _ge("speedup_vs_faiss_exact", 3),
                   _le("hub_occupancy_top20_real", 0.10),
                   Target("`k_occurrence_skew_reranked` <= `k_occurrence_skew_raw` / 2",
                          lambda r: r["k_occurrence_skew_reranked"] <= r["k_occurrence_skew_raw"] / 2),
                   Target("`ap_framing_reranked` >= `ap_framing`", lambda r: r["ap_framing_reranked"] >= r["ap_framing"])],
    "sql": [_lt("max_warm_s", 1), _lt("max_cold_s", 2), _eq("answers_equal", True),
            _lt("trino_max_warm_s", 2), _eq("trino_answers_equal", True)],
    "mediafm": [*_beats("probe_acc_"), *_beats("recall10_")],
    "artwork": [_eq("artwork_bad_sample", 0), _eq("artwork_bad_real", 0)],
    "scenes": [Target("`scene_f1` >= `scene_f1_baseline` + 0.10", lambda r: r["scene_f1"] >= r["scene_f1_baseline"] + 0.10),
               Target("`scene_f1_real` >= `scene_f1_baseline_real` + 0.10",
                      lambda r: r["scene_f1_real"] >= r["scene_f1_baseline_real"] + 0.10),
               _eq("false_boundaries_one_scene_real", 0), _eq("default_params_are_tuned", True)],
    "tags": [Target("`tag_map` > `tag_map_knn_baseline`", lambda r: r["tag_map"] > r["tag_map_knn_baseline"]),
             Target("`tag_map_real` > `tag_map_knn_baseline_real`",
                    lambda r: r["tag_map_real"] > r["tag_map_knn_baseline_real"])],
    "faults": [Target("`faults_reached` = `faults_injected` >= 6",
                      lambda r: r["faults_reached"] == r["faults_injected"] >= 6),
               _eq("rows_lost", 0), _eq("rows_duplicated", 0), _eq("partial_states_seen", 0)],
    "backfill": [_eq("rows_lost", 0), _eq("rows_duplicated", 0), _eq("titles_redone", 0)],
    "shots": [_ge("f1_all_real", 0.97), _ge("f1_gradual_real", 0.93), _ge("f1_hard_real", 0.98),
              _eq("false_cuts_no_cut_ranges", 0),
              Target("`f1_all_real` >= `f1_transnetv2_reference_real`",
                     lambda r: r["f1_all_real"] >= r["f1_transnetv2_reference_real"]),
              _ge("speed_ratio_vs_pyscenedetect", 1.0), _le("startup_s", 1.5),
              Target("`precision_same_files`: every file the same in float32 and reduced precision",
                     lambda r: len(set(str(r.get("precision_same_files", "0/1")).split("/"))) == 1)],
    "api": [_le("similar_p99_ms_c16", 25), _ge("similar_rps_c16", 400), _le("titles_p99_ms_c16", 25),
            _le("titles_shots_p99_ms_c16", 25), _le("match_cuts_10_titles_p99_ms_c16", 500),
            _eq("errors_during_reload", 0), _eq("mixed_snapshot_answers", 0), _eq("answers_equal", True)],
    "ingest": [],
    "memo": [],
    "pipeline": [],
    "batch": [_le("per_title_overhead_s", 1), _le("driver_peak_rss_ratio_256_vs_64", 1.15),
              _per_batch("dagster_runs_256"), _per_batch("commits_per_table_256"),
              _ge("speedup_2_workers_vs_1", 1.6), _eq("answers_match", True)],
}


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = "none"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0:
            gpu = ", ".join(line.strip() for line in out.stdout.splitlines() if line.strip()) or "none"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1),
            "gpu": gpu, "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}"}


def last_json(text: str) -> dict | None:
    """The last line of ``text`` as a JSON object, or None."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def run_one(name: str, extra: Sequence[str] = ()) -> dict:
    """Run ``python -m benchmarks.<name>``, teeing its output to its log; returns its results entry."""
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{name}.log"
    load_before = os.getloadavg()
    started, when = time.monotonic(), dt.datetime.now(dt.timezone.utc)
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *extra]
    print(f"== {name}: {' '.join(cmd[1:])} (log: {log.relative_to(HERE.parent)})", flush=True)
    tail: list[str] = []
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            sys.stdout.write(f"  {line}")
            tail = (tail + [line])[-50:]
        code = proc.wait()
    figures = last_json("".join(tail))
    return {"name": name, "command": " ".join(["python", *cmd[1:]]), "exit_code": code, "json": figures,
            "wall_s": round(time.monotonic() - started, 1), "date": when.isoformat(timespec="seconds"),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()], "machine": machine()}


def target_rows(name: str, figures: dict | None) -> list[tuple[str, str]]:
    """``(target, "met" | "MISSED" | "no figure")`` for each target of ``name``."""
    rows = []
    for t in BENCHMARKS.get(name, []):
        try:
            verdict = "met" if figures is not None and t.check(figures) else "MISSED"
        except (KeyError, TypeError):
            verdict = "no figure"
        rows.append((t.text, verdict))
    return rows


def render(results: dict[str, dict]) -> str:
    """RESULTS.md from the stored results."""
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m benchmarks.run`); do not edit by hand. Each benchmark ran as its own",
             "process, one at a time, on the machine named in its entry. Figures are the benchmark's last-line JSON;",
             "how each is measured, and its fair baseline, is in the benchmark's docstring. Timings on a 2-core",
             "machine are noisy: the load average before and after each run is given.", ""]
    names = [n for n in BENCHMARKS if n in results] + sorted(set(results) - set(BENCHMARKS))
    lines += ["| benchmark | date (UTC) | wall s | exit | targets |", "| --- | --- | --- | --- | --- |"]
    for n in names:
        r = results[n]
        verdicts = [v for _, v in target_rows(n, r["json"])]
        summary = f"{verdicts.count('met')}/{len(verdicts)} met" if verdicts else "none set"
        lines.append(f"| `{n}` | {r['date'][:16].replace('T', ' ')} | {r['wall_s']:.0f} | {r['exit_code']} | {summary} |")
    never = [n for n in BENCHMARKS if n not in results]
    if never:
        lines += ["", "Not run here yet (no stored result): " + ", ".join(f"`{n}`" for n in never) + "."]
    for n in names:
        r = results[n]
        m = r["machine"]
        lines += ["", f"## {n}", "",
                  f"`{r['command']}`: exit {r['exit_code']}, {r['wall_s']:.0f} s, {r['date']}; load average "
                  f"{r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after.",
                  f"Machine: {m['cores']} cores ({m['cpu'] or 'unknown CPU'}), {m['memory_gib']} GiB, GPU {m['gpu']}, "
                  f"Python {m['python']}, {m['os']}.", ""]
        rows = target_rows(n, r["json"])
        if rows:
            lines += ["| target | |", "| --- | --- |", *[f"| {t} | {v} |" for t, v in rows], ""]
        if r.get("note"):
            lines += [f"Note: {r['note']}", ""]
        lines += ["```json", json.dumps(r["json"], indent=1) if r["json"] is not None else "(no JSON last line)", "```"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their targets")
    parser.add_argument("--render", action="store_true", help="only re-render RESULTS.md from results.json")
    parser.add_argument("--note", nargs=2, metavar=("NAME", "TEXT"),
                        help="attach a note to NAME's stored result (what else ran beside it, say) and re-render")
    args = parser.parse_args(argv)
    if args.list:
        for n, targets in BENCHMARKS.items():
            print(f"{n}: {'; '.join(t.text for t in targets) or 'no targets'}")
        return 0
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if args.note:
        name, text = args.note
        if name not in results:
            parser.error(f"no stored result for {name!r}")
        results[name]["note"] = text
        RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
        args.render = True
    failed = []
    for name in ([] if args.render else args.names or list(BENCHMARKS)):
        entry = run_one(name)
        results[name] = entry
        RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")  # after each one: a kill keeps the rest
        RESULTS_MD.write_text(render(results))
        if entry["exit_code"] != 0 or entry["json"] is None:
            failed.append(name)
    RESULTS_MD.write_text(render(results))
    print(f"wrote {RESULTS_MD.relative_to(HERE.parent)}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
