#!/usr/bin/env python3
"""Helper of scripts/bench-pipeline.sh (standard library only).

  bench_pipeline_report.py llm-repo SRC DST [--token-interval-ms MS] [--instances N]
      Copies the model repository SRC to DST and edits DST/ferret_llm/config.pbtxt: the
      instance_group count becomes N and, with --token-interval-ms, the parameter
      token_interval_ms is set (any existing one is replaced).

  bench_pipeline_report.py report OUT REPORT
      Reads OUT/meta.json and OUT/runs/*/{run.json,phases.jsonl,gc-*.log} and writes the
      Markdown report REPORT.
"""

import glob
import json
import os
import re
import shutil
import statistics
import sys

# ------------------------------------------------------------------------------------------------
# llm-repo


def llm_repo(src, dst, token_interval_ms, instances):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    path = os.path.join(dst, "ferret_llm", "config.pbtxt")
    with open(path) as f:
        text = f.read()
    # drop any token_interval_ms parameter already there
    text = re.sub(
        r'parameters\s*\{\s*key:\s*"token_interval_ms"\s*value:\s*\{[^{}]*\}\s*\}\s*', "", text)
    if token_interval_ms is not None:
        block = ('parameters {\n  key: "token_interval_ms"\n  value: { string_value: "%s" }\n}\n'
                 % token_interval_ms)
        m = re.search(r"^input\s*\[", text, re.M)
        text = text[:m.start()] + block + text[m.start():] if m else text + "\n" + block
    m = re.search(r"instance_group\s*\[", text)
    if m:
        count = re.compile(r"count:\s*\d+")
        c = count.search(text, m.end())
        if not c:
            sys.exit("llm-repo: no count in the instance_group of " + path)
        text = text[:c.start()] + "count: %d" % instances + text[c.end():]
    else:
        text += "\ninstance_group [\n  {\n    count: %d\n    kind: KIND_CPU\n  }\n]\n" % instances
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------------------------------------------
# GC log (-Xlog:gc:file=...:uptime,timemillis)

GC_LINE = re.compile(
    r"\[(\d+)ms\].*GC\(\d+\) (Pause .*?)\s+(\d+(?:\.\d+)?)([KMG])->(\d+(?:\.\d+)?)([KMG])\(")
UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def gc_pauses(path):
    """[(epoch_ms, kind, cause, heap_before_bytes, heap_after_bytes)] of every pause with sizes."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = GC_LINE.search(line)
            if not m:
                continue
            desc = m.group(2).strip()
            causes = re.findall(r"\(([^()]*)\)", desc)
            kind = re.sub(r"\s*\(.*", "", desc)
            # "Pause Young (Normal) (G1 Evacuation Pause)": the cause is the last parenthesis;
            # "Pause Remark" / "Pause Cleanup" have none
            cause = causes[-1] if len(causes) >= 2 or kind == "Pause Full" and causes else kind
            before = float(m.group(3)) * UNITS[m.group(4)]
            after = float(m.group(5)) * UNITS[m.group(6)]
            out.append((int(m.group(1)), kind, cause, before, after))
    return out


def gc_window(pauses, start_ms, end_ms):
    """Allocation estimate and pause counts by cause for the pauses in [start_ms, end_ms].

    Allocation = sum over those pauses of (heap before it - heap after the pause before it): the
    whole heap, so humongous allocations count too.
    """
    alloc = 0.0
    counts = {}
    n = 0
    for i, (t, kind, cause, before, _after) in enumerate(pauses):
        if t < start_ms or t > end_ms:
            continue
        n += 1
        counts[cause] = counts.get(cause, 0) + 1
        if i > 0:
            alloc += max(0.0, before - pauses[i - 1][4])
    return {"alloc": alloc, "counts": counts, "pauses": n}


# ------------------------------------------------------------------------------------------------
# report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_runs(out):
    runs = []
    for run_json in sorted(glob.glob(os.path.join(out, "runs", "*", "run.json"))):
        d = os.path.dirname(run_json)
        with open(run_json) as f:
            run = json.load(f)
        run["dir"] = d
        run["phases"] = {}
        path = os.path.join(d, "phases.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.strip():
                        p = json.loads(line)
                        run["phases"][p["phase"]] = p
        logs = glob.glob(os.path.join(d, "gc-*.log"))
        pauses = gc_pauses(logs[0]) if logs else []
        for p in run["phases"].values():
            if pauses:
                p["gclog"] = gc_window(pauses, p["start_epoch_ms"], p["end_epoch_ms"])
        runs.append(run)
    return runs


def per_round(runs, side, kind, fn):
    """fn(phases) for every run of side/kind (None where it fails), in round order."""
    values = []
    for run in sorted((r for r in runs if r["side"] == side and r["kind"] == kind),
                      key=lambda r: r["round"]):
        try:
            v = fn(run["phases"]) if run.get("ok") else None
        except (KeyError, TypeError, ZeroDivisionError):
            v = None
        values.append(v)
    return values


def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2
    return f"{v:,.{digits}f}"


def ratio(b, r):
    if b is None or r is None or b == 0:
        return "n/a"
    return f"{r / b:.2f}"


def ok_requests(phase):
    return phase["ok"] if phase["ok"] else None


def report(out, path):
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    runs = load_runs(out)
    lines = []
    emit = lines.append

    def fig(kind, fn):
        b = per_round(runs, "baseline", kind, fn)
        r = per_round(runs, "result", kind, fn)
        return b, r

    rows = []  # (section, label, baseline rounds, result rounds, digits)

    def row(label, kind, fn, digits=None, note=""):
        b, r = fig(kind, fn)
        rows.append((label, b, r, digits, note))

    def lat(phase, q):
        return lambda ph: ph[phase]["latency_ms"][q]

    def model(phase):
        return lambda ph: ph[phase]["model_compute_ms_per_request"]

    def non_model(phase):
        return lambda ph: (ph[phase]["latency_ms"]["p50"]
                           - ph[phase]["model_compute_ms_per_request"])

    mb = 1e6

    emit("# Pipeline benchmark: whole stack, baseline vs working tree")
    emit("")
    emit("Generated by `scripts/bench-pipeline.sh` (do not edit by hand).")
    emit("")
    emit(f"- Command: `{meta['command']}`")
    emit(f"- Baseline: `{meta['baseline_commit']}` ({meta['baseline_subject']})")
    emit(f"- Result: {meta['result_desc']}")
    emit(f"- Machine: {meta['cpu']}, nproc {meta['nproc']}, {meta['mem']} memory; "
         f"{meta['java']}; {meta['date']}")
    emit(f"- Rounds: {meta['rounds']} per side, run alternately (baseline, result, baseline, "
         f"...) on this machine, one stack at a time; every figure is the median over the rounds "
         f"(per-round values at the end). Stack JVM: `{meta['java_opts']}`, started as "
         f"`./ferret up` does (`java --add-modules jdk.incubator.vector ... -jar launcher-exec.jar "
         f"up`), default partitions (4); the load driver is "
         f"`ai.ferretstream.bench.PipelineLoad`, the same jar for both sides.")
    emit(f"- Load: `{meta['counts']}`. Requests: non-streamed OpenAI chat completions, "
         f"\"Where is the red object?\", a synthetic PNG (red and blue rectangles on grey): "
         f"960x640 (3x2 grid) unless marked 2x2 (640x480). Each phase: warm-up requests first, "
         f"then counters are read before and after the measured requests.")
    emit(f"- Load average before / after: {meta.get('load_before', '?')} / "
         f"{meta.get('load_after', '?')}. Ratio = result / baseline (lower is better except "
         f"req/s).")
    busy = []
    for run in runs:
        for name, p in run["phases"].items():
            other = p.get("other_cores_busy")
            if name != "warm" and other is not None and other > 0.25:
                busy.append(f"{run['side']} r{run['round']} {name}: {other:.2f}")
    if busy:
        emit("- **This machine was not idle**: other processes (neither the stack nor the load "
             "driver) kept CPU cores busy during some phases (cores): " + "; ".join(busy)
             + ". Those figures are disturbed; rerun on an idle machine.")
    failed = [r for r in runs if not r.get("ok")]
    if failed:
        emit("- **Runs that failed** (their figures are n/a): " + ", ".join(
            f"{r['side']} {r['kind']} round {r['round']} ({r.get('error', '?')})" for r in failed))
    emit("")

    # ---- main figures
    row("c=1, 3x2: client p50 (ms)", "main", lat("c1-3x2", "p50"))
    row("c=1, 3x2: client p90 (ms)", "main", lat("c1-3x2", "p90"))
    row("c=1, 3x2: model compute per request (ms)", "main", model("c1-3x2"))
    row("c=1, 3x2: non-model (p50 - model compute, ms)", "main", non_model("c1-3x2"))
    row("c=1, 2x2: client p50 (ms)", "main", lat("c1-2x2", "p50"))
    row("c=1, 2x2: client p90 (ms)", "main", lat("c1-2x2", "p90"))
    row("c=1, 2x2: model compute per request (ms)", "main", model("c1-2x2"))
    row("c=1, 2x2: non-model (p50 - model compute, ms)", "main", non_model("c1-2x2"))
    for c in (4, 16):
        ph = f"c{c}"
        row(f"c={c}: throughput (req/s)", "main", lambda p, ph=ph: p[ph]["req_per_s"], 2)
        row(f"c={c}: client p50 (ms)", "main", lat(ph, "p50"))
        row(f"c={c}: client p99 (ms)", "main", lat(ph, "p99"))
    row("CPU per request, c=16 (ms, stack process utime+stime)", "main",
        lambda p: p["c16"]["cpu_ms_per_request"])
    row("Kafka log bytes per 3x2 request (MB, all topics)", "main",
        lambda p: p["c1-3x2"]["kafka_log_bytes_per_request"] / mb, 2)
    row("Allocation per request, c=16 (MB, GC log: whole heap)", "main",
        lambda p: p["c16"]["gclog"]["alloc"] / ok_requests(p["c16"]) / mb, 1)
    row("Allocation per request, c=16 (MB, Micrometer jvm_gc_memory_allocated_bytes)", "main",
        lambda p: p["c16"]["prom_allocated_bytes_per_request"] / mb, 1)
    row("GC pauses per 100 requests, c=16 (all causes, Micrometer)", "main",
        lambda p: 100 * sum(p["c16"]["gc_pauses_by_cause"].values()) / ok_requests(p["c16"]), 1)
    row("GC pause time per request, c=16 (ms, Micrometer)", "main",
        lambda p: sum(p["c16"]["gc_pause_ms_by_cause"].values()) / ok_requests(p["c16"]), 1)

    emit("## Figures")
    emit("")
    emit("| figure | baseline | result | ratio |")
    emit("|---|---:|---:|---:|")
    for label, b, r, digits, _ in rows:
        mb_, mr = median(b), median(r)
        emit(f"| {label} | {fmt(mb_, digits)} | {fmt(mr, digits)} | {ratio(mb_, mr)} |")
    emit("")
    errors = []
    for run in runs:
        for name, p in run["phases"].items():
            if p.get("errors") or p.get("warmup_errors"):
                errors.append(f"{run['side']} r{run['round']} {name}: {p['errors']} errors "
                              f"{p.get('errors_by_kind')}, {p.get('warmup_errors', 0)} in warm-up")
    emit("Failed requests: " + ("none." if not errors else "; ".join(errors) + "."))
    emit("")

    # ---- CPU and allocation by thread group
    def group_table(key, title, text, digits):
        groups = {}
        for run in runs:
            for g, v in run["phases"].get("c16", {}).get(key, {}).items():
                groups.setdefault(g, []).append(v)
        if not groups:
            return
        emit(title)
        emit("")
        emit(text)
        emit("")
        emit("| thread group | baseline | result | ratio |")
        emit("|---|---:|---:|---:|")
        for g in sorted(groups, key=lambda g: -(median(groups[g]) or 0)):
            b, r = fig("main", lambda p, g=g: p.get("c16", {}).get(key, {}).get(g))
            mb_, mr = median(b), median(r)
            emit(f"| {g} | {fmt(mb_, digits)} | {fmt(mr, digits)} | {ratio(mb_, mr)} |")
        emit("")

    group_table(
        "cpu_ms_per_request_by_thread_group",
        "## Where the CPU goes at c=16 (ms per request, by thread group)",
        "From the stack's `/proc/PID/task/*/stat` (utime + stime per thread, grouped by "
        "thread name; the kernel keeps 15 characters of a name, so every service's Kafka "
        "producer I/O thread is one group). The embedded broker, the dev inference server, "
        "the gRPC transport of both ends, the JIT and the GC share this one JVM with the five "
        "services.", 1)
    group_table(
        "allocated_mb_per_request_by_thread_group",
        "## Where the allocation happens at c=16 (MB per request, by thread group)",
        "HotSpot's per-thread allocation counters (`ThreadMXBean.getThreadAllocatedBytes`, read "
        "over JMX before and after the phase), grouped by thread name as above. Threads that "
        "ended during the phase are missing, so the sum can fall short of the GC log's figure.", 1)

    # ---- stage breakdown
    emit("## Per-stage timings at c=1 (`ferret_timings`, p50, ms since the gateway accepted)")
    emit("")
    emit("| stage | 3x2 baseline | 3x2 result | ratio | 2x2 baseline | 2x2 result | ratio |")
    emit("|---|---:|---:|---:|---:|---:|---:|")
    keys = {}
    for run in runs:
        for ph in ("c1-3x2", "c1-2x2"):
            for k, v in run["phases"].get(ph, {}).get("stages_p50_ms", {}).items():
                keys.setdefault(k, []).append(v)
    for k in sorted(keys, key=lambda k: (median(keys[k]), k)):
        cells = []
        for ph in ("c1-3x2", "c1-2x2"):
            b, r = fig("main", lambda p, ph=ph, k=k: p[ph]["stages_p50_ms"].get(k))
            mb_, mr = median(b), median(r)
            cells += [fmt(mb_, 0), fmt(mr, 0), ratio(mb_, mr)]
        emit(f"| `{k}` | " + " | ".join(cells) + " |")
    emit("")
    emit("A stage key present on one side only shows n/a on the other.")
    emit("")

    # ---- model compute by model
    emit("## Model compute at c=1, 3x2 (ms per request, by model)")
    emit("")
    emit("| model | baseline | result | ratio |")
    emit("|---|---:|---:|---:|")
    models = set()
    for run in runs:
        models |= set(run["phases"].get("c1-3x2", {}).get("model_compute_ms_by_model", {}))
    for m in sorted(models):
        b, r = fig("main", lambda p, m=m: p["c1-3x2"]["model_compute_ms_by_model"][m]
                   / ok_requests(p["c1-3x2"]))
        emit(f"| `{m}` | {fmt(median(b))} | {fmt(median(r))} | {ratio(median(b), median(r))} |")
    emit("")

    # ---- kafka by topic
    emit("## Kafka log bytes per 3x2 request, by topic (MB)")
    emit("")
    emit("| topic | baseline | result | ratio |")
    emit("|---|---:|---:|---:|")
    topics = set()
    for run in runs:
        topics |= set(run["phases"].get("c1-3x2", {})
                      .get("kafka_log_bytes_per_request_by_topic", {}))
    for t in sorted(topics):
        b, r = fig("main", lambda p, t=t: p["c1-3x2"]["kafka_log_bytes_per_request_by_topic"]
                   .get(t, 0) / mb)
        emit(f"| `{t}` | {fmt(median(b), 3)} | {fmt(median(r), 3)} | "
             f"{ratio(median(b), median(r))} |")
    emit("")

    # ---- broker requests and bytes out
    for key, title, about, scale, digits in (
            ("broker_requests_per_request_by_type",
             "Broker requests per client request at c=16, by type",
             "The embedded broker's `kafka.network:type=RequestMetrics,name=RequestsPerSec` "
             "counts (read over JMX from the stack's JVM before and after the phase), "
             "divided by the phase's answered requests.", 1, 2),
            ("broker_bytes_out_per_request_by_topic",
             "Bytes the broker sent per client request at c=16, by topic (MB)",
             "The embedded broker's `kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec` "
             "counts per topic: what consumers (and readers by location) fetched, including "
             "records read and then dropped.", mb, 3)):
        names = set()
        for run in runs:
            names |= set(run["phases"].get("c16", {}).get(key, {}))
        if not names:
            continue
        emit(f"## {title}")
        emit("")
        emit(about)
        emit("")
        emit("| name | baseline | result | ratio |")
        emit("|---|---:|---:|---:|")
        for t in sorted(names):
            b, r = fig("main", lambda p, t=t, key=key: p.get("c16", {}).get(key, {})
                       .get(t, 0) / scale)
            emit(f"| `{t}` | {fmt(median(b), digits)} | {fmt(median(r), digits)} | "
                 f"{ratio(median(b), median(r))} |")
        emit("")

    # ---- GC by cause
    emit("## GC pauses during the c=16 phase, by cause (per 100 requests)")
    emit("")
    emit("| cause | baseline (Micrometer) | result (Micrometer) | baseline (GC log) "
         "| result (GC log) |")
    emit("|---|---:|---:|---:|---:|")
    causes = set()
    for run in runs:
        p = run["phases"].get("c16", {})
        causes |= set(p.get("gc_pauses_by_cause", {}))
        causes |= set(p.get("gclog", {}).get("counts", {}))
    for c in sorted(causes):
        bm, rm = fig("main", lambda p, c=c: 100 * p["c16"]["gc_pauses_by_cause"].get(c, 0)
                     / ok_requests(p["c16"]))
        bl, rl = fig("main", lambda p, c=c: 100 * p["c16"]["gclog"]["counts"].get(c, 0)
                     / ok_requests(p["c16"]))
        emit(f"| {c} | {fmt(median(bm), 1)} | {fmt(median(rm), 1)} | {fmt(median(bl), 1)} | "
             f"{fmt(median(rl), 1)} |")
    emit("")
    emit("Micrometer: the delta of `jvm_gc_pause_seconds_count` by cause in the gateway's registry "
         "(JVM-wide: all services share the JVM); it leaves out the Remark and Cleanup pauses of "
         "concurrent cycles. GC log: the `Pause ...` lines whose time falls in the phase (young "
         "pauses by cause, Remark and Cleanup by name).")
    emit("")

    # ---- LLM concurrency
    emit("## LLM: 32 concurrent streams on 4 partitions vs 1 stream")
    emit("")
    emit("The result's stack with a copy of the model repository in which `ferret_llm` emulates a "
         f"GPU's decode rate (`token_interval_ms` = {meta.get('llm_token_interval_ms')}, "
         f"`instance_group` count {meta['llm_instances']}), started with `--partitions 4`; "
         "streamed requests (640x480, 2x2). \"llm stage\": `llm.done` - `fusion.done` of each "
         "request (its queueing at the llm included, the vision pipeline excluded). \"1 "
         f"stream\": the median of {meta['llm_singles']} streams sent one after another; \"32 "
         f"streams\": 32 sent at once; the stack was warmed first by "
         f"{meta.get('llm_stack_warmup', 0)} streams at c=32, and the 32 by "
         f"{meta.get('llm32_warmup', 8)} more. Rows: the llm as "
         "built (`max-generations` 64) and the same llm limited to 4 generations, one per "
         "partition, which is what the listener-thread design allowed. The baseline commit "
         "cannot pace its dev LLM, so it has no row.")
    emit("")
    emit("| llm | 1 stream: llm stage (ms) | 32 streams: llm stage p50 (ms) "
         "| 32 streams: llm stage max (ms) | max / 1 stream | 32 streams: wall time to the last "
         "`[DONE]` (ms) |")
    emit("|---|---:|---:|---:|---:|---:|")

    def llm_row(side, label):
        single = per_round(runs, side, "llm", lambda p: p["llm-1"]["llm_stage_ms"]["p50"])
        p50 = per_round(runs, side, "llm", lambda p: p["llm-32"]["llm_stage_ms"]["p50"])
        mx = per_round(runs, side, "llm", lambda p: p["llm-32"]["llm_stage_ms"]["max"])
        wall = per_round(runs, side, "llm", lambda p: p["llm-32"]["wall_s"] * 1000
                         if p["llm-32"]["ok"] == 32 else None)
        s1, m = median(single), median(mx)
        emit(f"| {label} | {fmt(s1, 0)} | {fmt(median(p50), 0)} | {fmt(m, 0)} "
             f"| {ratio(s1, m)} | {fmt(median(wall), 0)} |")

    llm_row("result", "64 generations (`ferret.llm.max-generations` default)")
    llm_row("result-pinned", "4 generations (one per partition, as before)")
    emit("")

    # ---- method
    emit("## How each figure is measured")
    emit("")
    emit("- **Client latency**: from sending the request to the complete answer, in the load "
         "driver (Java HttpClient, HTTP/1.1, fixed thread pool, one request in flight per "
         "worker); nearest-rank percentiles over the measured requests of a round.")
    emit("- **Throughput**: successful answers / wall time of the measured requests, with "
         "`c` requests always in flight.")
    emit("- **Per-stage timings**: the answer's `ferret_timings` (ms since the gateway accepted the "
         "request); p50 of each key.")
    emit("- **Model compute per request**: delta of the inference server's `ModelStatistics` "
         "(`inference_stats` compute_input + compute_infer + compute_output ns, summed over all "
         "models) divided by the requests. Triton counts a batch's compute once per request in "
         "it. **Non-model** = client p50 - model compute per request.")
    emit("- **CPU per request**: utime + stime of the stack's java process "
         "(`/proc/PID/stat`, `getconf CLK_TCK` ticks) over the measured c=16 requests, divided "
         "by them; the load driver is a separate process and not counted.")
    emit("- **Kafka log bytes**: sum of the partition sizes of all topics (AdminClient "
         "`describeLogDirs`) after minus before the c=1 3x2 phase, divided by its requests.")
    emit("- **Allocation**: (GC log) the stack JVM runs with `-Xlog:gc:file=...:uptime,timemillis`;"
         " for the pauses inside the c=16 window, the sum of (heap before the pause - heap after "
         "the pause before it), which counts humongous allocations; (Micrometer) the delta of "
         "`jvm_gc_memory_allocated_bytes_total` from the gateway's `/actuator/prometheus`, which "
         "tracks the young generation only and so misses humongous objects.")
    emit("")

    # ---- per-round values
    emit("## Per-round values")
    emit("")
    emit("| figure | baseline rounds | result rounds |")
    emit("|---|---|---|")
    for label, b, r, digits, _ in rows:
        emit(f"| {label} | {', '.join(fmt(v, digits) for v in b)} | "
             f"{', '.join(fmt(v, digits) for v in r)} |")
    for name in ("c1-3x2", "c16"):
        b, r = fig("main", lambda p, name=name: p[name].get("other_cores_busy"))
        emit(f"| other processes' CPU during {name} (cores) | "
             f"{', '.join(fmt(v, 2) for v in b)} | {', '.join(fmt(v, 2) for v in r)} |")
    for kind in ("main", "llm"):
        cells = []
        for side in ("baseline", "result"):
            cells.append(", ".join(
                r.get("load_before", "?").split(" ")[0]
                for r in sorted(runs, key=lambda r: r["round"])
                if r["side"] == side and r["kind"] == kind))
        emit(f"| load average (1 min) when the {kind} stack started | {cells[0]} | {cells[1]} |")
    cells = []
    for side in ("result", "result-pinned"):
        single = per_round(runs, side, "llm", lambda p: p["llm-1"]["llm_stage_ms"]["p50"])
        batch = per_round(runs, side, "llm", lambda p: p["llm-32"]["llm_stage_ms"]["max"])
        cells.append(", ".join(f"{fmt(s_, 0)} / {fmt(b_, 0)}" for s_, b_ in zip(single, batch)))
    emit(f"| llm stage, 1 stream / 32 streams max (ms): 64 generations, 4 generations "
         f"| {cells[0]} | {cells[1]} |")
    emit("")
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def main(argv):
    if len(argv) >= 4 and argv[1] == "llm-repo":
        args = argv[4:]
        interval = None
        instances = 64
        i = 0
        while i < len(args):
            if args[i] == "--token-interval-ms":
                interval = args[i + 1]
                i += 2
            elif args[i] == "--instances":
                instances = int(args[i + 1])
                i += 2
            else:
                sys.exit("llm-repo: unknown option " + args[i])
        llm_repo(argv[2], argv[3], interval, instances)
    elif len(argv) == 4 and argv[1] == "report":
        sys.stdout.write(report(argv[2], argv[3]))
    elif len(argv) == 3 and argv[1] == "gc-log":
        for p in gc_pauses(argv[2]):
            print(*p)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
