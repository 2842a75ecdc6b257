#!/usr/bin/env python3
"""A long timeline made from a short real one, to measure what `rpmsg-soak report` costs on it.

    long-timeline.py TEMPLATE_RUN_DIR OUT_DIR [--hours 12] [--interval 30] [--durations 3h,2h,2h,2h,1h,2h]
                     [--latency-buckets 200] [--lag-buckets 60] [--seed 1]

TEMPLATE_RUN_DIR is the folder of a short real run (its events.jsonl: a run_start, its phases, a
few interval snapshots, a run_end). OUT_DIR/events.jsonl gets the same run stretched to
`--hours`: the template's run_start (its profile's report_interval and phase durations set to
the long run's), its first events, then every phase with one interval snapshot each
`--interval` seconds (12 h at 30 s: 1440 snapshots; at 5 s: 8640), then its run_end. Each
snapshot echoes at its phase's rate in the template, with `--latency-buckets` distinct latency
buckets and `--lag-buckets` schedule-lag buckets (fewer when it echoed fewer messages), values
drawn from the template phase's own latencies and rounded to the HdrHistogram bucket they fall
in (3 significant digits), as a real snapshot holds them. t is monotonic, wall follows t, the
counters only grow: the timeline is one `rpmsg-soak report` reads like a real night's.
"""
import argparse
import collections
import datetime
import json
import math
import os
import random
import re
import sys


def seconds_of(text):
    """A profile duration ("30s", "2h", "1m30s", "500ms") in seconds."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|us|ns|s|m|h|d)", text):
        total += float(number) * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return total


def bucket(value):
    """The value HdrHistogram (3 significant digits) stores `value` under: its bucket's highest equivalent."""
    value = max(1, int(value))
    if value < 2048:
        return value
    width = 1 << (value.bit_length() - 11)
    return value // width * width + width - 1


def draw(pool, rng, distinct, total):
    """`total` values spread over at most `distinct` buckets, drawn from `pool` ({value: count})."""
    if total <= 0 or not pool:
        return []
    values, weights = list(pool), list(pool.values())
    chosen = {}
    tries = 0
    while len(chosen) < min(distinct, total) and tries < distinct * 50:
        tries += 1
        v = bucket(rng.choices(values, weights)[0] * math.exp(rng.gauss(0, 0.25)))
        chosen.setdefault(v, pool.get(v, 1))
    keys = sorted(chosen)
    counts = collections.Counter(keys)
    for v in rng.choices(keys, [chosen[k] for k in keys], k=total - len(keys)):
        counts[v] += 1
    return [[v, counts[v]] for v in keys]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("template", help="a short real run's folder (holds events.jsonl)")
    ap.add_argument("out", help="the folder to write events.jsonl into (created)")
    ap.add_argument("--hours", type=float, default=12)
    ap.add_argument("--interval", type=float, default=30, help="seconds between snapshots (the profile's report_interval)")
    ap.add_argument("--durations", help="each phase's duration, comma-separated (default: the template's, scaled to --hours)")
    ap.add_argument("--latency-buckets", type=int, default=200)
    ap.add_argument("--lag-buckets", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    events = [json.loads(line) for line in open(os.path.join(args.template, "events.jsonl")) if line.strip()]
    start, end = events[0], events[-1]
    if start["type"] != "run_start" or end["type"] != "run_end":
        sys.exit("the template must begin with run_start and end with run_end (a finished run)")
    profile = start["run"]["profile"]
    phases = profile["phases"]

    # What each phase of the template did per second, and the latencies it saw.
    per = {p["name"]: {"seconds": 0.0, "echoed": 0, "sent": 0, "bytes": 0, "outstanding": 0,
                       "latency": collections.Counter(), "lag": collections.Counter()} for p in phases}
    last = {"echoed": 0, "sent": 0, "bytes_sent": 0}
    for e in events:
        if e["type"] != "interval":
            continue
        s = e["interval"]
        p = per[s["phase"]]
        p["seconds"] += s["seconds"]
        p["echoed"] += s["totals"]["echoed"] - last["echoed"]
        p["sent"] += s["totals"]["sent"] - last["sent"]
        p["bytes"] += s["totals"]["bytes_sent"] - last["bytes_sent"]
        p["outstanding"] = max(p["outstanding"], s["outstanding"])
        for v, n in s["latency_micros"]:
            p["latency"][v] += n
        for v, n in s.get("schedule_lag_micros") or []:
            p["lag"][v] += n
        last = {k: s["totals"][k] for k in last}

    if args.durations:
        lengths = [seconds_of(d) for d in args.durations.split(",")]
        if len(lengths) != len(phases):
            sys.exit(f"--durations: {len(phases)} phases in the template, {len(lengths)} durations given")
    else:
        template = [seconds_of(p["duration"]) for p in phases]
        lengths = [args.hours * 3600 * d / sum(template) for d in template]
    # Whole snapshots per phase, so the run is `--hours` long on the snapshot grid.
    counts = [max(1, round(d / args.interval)) for d in lengths]

    def text(seconds):
        return f"{seconds / 3600:g}h" if seconds % 3600 == 0 else f"{seconds:g}s"
    profile["report_interval"] = text(args.interval)
    for p, n in zip(phases, counts):
        p["duration"] = text(n * args.interval)

    began = datetime.datetime.strptime(start["wall"], "%Y-%m-%dT%H:%M:%S.%fZ")

    def wall(t):
        return (began + datetime.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    os.makedirs(args.out, exist_ok=True)
    out = open(os.path.join(args.out, "events.jsonl"), "w")

    def emit(e):
        out.write(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")

    # The run_start and what came before the first snapshot (link open, sources), phase starts aside.
    t0 = next(e["t"] for e in events if e["type"] == "phase_start")
    for e in events:
        if e["type"] == "interval":
            break
        if e["type"] != "phase_start":
            emit(e)

    totals = dict(end["end"]["totals"])
    for k in totals:
        totals[k] = 0
    t = t0
    written = 0
    for index, (p, n) in enumerate(zip(phases, counts)):
        emit({"message": f"phase {p['name']}", "phase": {"index": index, "name": p["name"]}, "t": t,
              "type": "phase_start", "wall": wall(t)})
        seen = per[p["name"]]
        rate = seen["echoed"] / seen["seconds"] if seen["seconds"] else 0
        size = seen["bytes"] / seen["sent"] if seen["sent"] else 64
        carry = 0.0
        for _ in range(n):
            t += args.interval
            carry += rate * args.interval * math.exp(rng.gauss(0, 0.02))
            echoed = int(carry)
            carry -= echoed
            totals["sent"] += echoed
            totals["echoed"] += echoed
            totals["bytes_sent"] += int(echoed * size)
            totals["bytes_echoed"] += int(echoed * size)
            emit({"interval": {
                "anomalies_not_listed": 0,
                "latency_micros": draw(seen["latency"], rng, args.latency_buckets, echoed),
                "outstanding": rng.randint(0, seen["outstanding"]),
                "phase": p["name"],
                "schedule_lag_micros": draw(seen["lag"], rng, args.lag_buckets, echoed),
                "seconds": args.interval,
                "totals": dict(totals),
            }, "t": t, "type": "interval", "wall": wall(t)})
            written += 1

    end = dict(end)
    end["t"] = t
    end["wall"] = wall(t)
    end["end"] = dict(end["end"], seconds=t, totals=dict(totals))
    emit(end)
    out.close()
    size = os.path.getsize(os.path.join(args.out, "events.jsonl"))
    print(f"{args.out}/events.jsonl: {written} interval snapshots over {t / 3600:.2f} h, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
