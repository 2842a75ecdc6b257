#!/usr/bin/env bash
# rpmsg-soak against the C reference (c-reference/echo-ref.c) on the same socat echo device,
# in the same run, interleaved: the issue's performance targets, measured.
#
#   Benchmarks/compare.sh [ROUNDS]        (default 5; medians of the rounds are compared)
#
# Each round runs, one after the other:
#   (a) echo-ref, window 16, SECONDS s          (b) rpmsg-soak, throughput.yaml, SECONDS s
#   (c) echo-ref, window 1, W1_SECONDS s        (d) rpmsg-soak, throughput.yaml at window 1
# all under /usr/bin/time (user + system CPU of the whole process, start-up and reports
# included for rpmsg-soak). Environment: SECONDS_W16 (default 20), W1_SECONDS (default 10),
# RPMSG_SOAK (the binary; default: .build-perf/release/rpmsg-soak, built if missing),
# DEVICE (default /tmp/ttyBENCH).
#
# Targets (issue 6): messages/s at window 16 >= 90% of C's; CPU per message <= 1.5x C's;
# round-trip p50 at window 1 within 10% of C's. Exit status 0 when all three are met, 1 when
# one is missed (judged on the ratio of the medians), 2 when a run failed (a tester reported
# an error). "paired ratio" is the median of the per-round ratios, for information.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds="${1:-5}"
secs="${SECONDS_W16:-20}"
w1secs="${W1_SECONDS:-10}"
device="${DEVICE:-/tmp/ttyBENCH}"
soak="${RPMSG_SOAK:-$root/.build-perf/release/rpmsg-soak}"

for tool in socat gcc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (scripts/setup installs socat, python3, time)" >&2; exit 2; }
done

work="$(mktemp -d /tmp/rpmsg-soak-compare.XXXXXX)"
socat_pid=""
cleanup() {
  if [ -n "$socat_pid" ]; then kill "$socat_pid" 2>/dev/null || true; wait "$socat_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The C reference: rebuilt every time, it takes a fraction of a second.
ref="$work/echo-ref"
gcc -O2 -Wall -Wextra -o "$ref" "$here/c-reference/echo-ref.c"

if [ ! -x "$soak" ]; then
  echo "compare.sh: building rpmsg-soak (release, --scratch-path .build-perf)" >&2
  (cd "$root" && swift build -c release --scratch-path .build-perf >&2)
fi

# The profiles: throughput.yaml as it is, but SECONDS long, and a window-1 copy of it.
sed -e "s/^\(    duration:\) 30s/\1 ${secs}s/" "$root/profiles/throughput.yaml" > "$work/w16.yaml"
sed -e "s/^\(    duration:\) 30s/\1 ${w1secs}s/" -e 's/^\(    window:\) 16/\1 1/' \
    "$root/profiles/throughput.yaml" > "$work/w1.yaml"
grep -q "duration: ${secs}s" "$work/w16.yaml" && grep -q 'window: 1$' "$work/w1.yaml" \
  || { echo "compare.sh: profiles/throughput.yaml changed shape; update the sed lines" >&2; exit 2; }
printf 'name: bench-echo\nlink:\n  device: %s\n' "$device" > "$work/board.yaml"

start_socat() {
  if [ -n "$socat_pid" ] && kill -0 "$socat_pid" 2>/dev/null; then return; fi
  rm -f "$device"
  socat pty,raw,echo=0,link="$device" exec:cat &
  socat_pid=$!
  for _ in $(seq 50); do [ -e "$device" ] && return; sleep 0.1; done
  echo "compare.sh: socat did not create $device" >&2
  exit 2
}

results="$work/results.tsv"
: > "$results"
failed=0

# run_c KIND WINDOW SECONDS: one line "KIND msgs msgs_per_s p50_us cpu_s" in results.
run_c() {
  local kind="$1" window="$2" s="$3"
  start_socat
  local out
  if ! out="$(/usr/bin/time -f '%U %S' -o "$work/time" "$ref" "$device" "$window" "$s")"; then
    echo "compare.sh: echo-ref failed: $out" >&2; failed=1; return
  fi
  python3 - "$kind" "$out" "$work/time" >> "$results" <<'EOF'
import sys
kind, out, timef = sys.argv[1:4]
kv = dict(f.split("=") for f in out.split())
u, s = open(timef).read().split()[-2:]
print(kind, kv["msgs"], kv["msgs_per_s"], kv["p50_us"], float(u) + float(s))
EOF
}

# run_soak KIND PROFILE: the same line from summary.json.
run_soak() {
  local kind="$1" profile="$2"
  start_socat
  local out="$work/out-$kind"
  rm -rf "$out"
  if ! /usr/bin/time -f '%U %S' -o "$work/time" "$soak" run "$profile" --board "$work/board.yaml" --out "$out" --quiet > "$work/soak.log" 2>&1; then
    echo "compare.sh: rpmsg-soak $kind did not pass:" >&2; cat "$work/soak.log" >&2; failed=1
  fi
  [ -f "$out/latest/summary.json" ] || { echo "compare.sh: no summary.json from rpmsg-soak $kind" >&2; failed=1; return; }
  python3 - "$kind" "$out/latest/summary.json" "$work/time" >> "$results" <<'EOF'
import json, sys
kind, summary, timef = sys.argv[1:4]
d = json.load(open(summary))
u, s = open(timef).read().split()[-2:]
print(kind, d["totals"]["echoed"], d["messages_per_second"], d["latency_micros"]["p50"], float(u) + float(s))
EOF
}

echo "compare.sh: $rounds rounds of C/rpmsg-soak at window 16 (${secs} s) and window 1 (${w1secs} s) on $device" >&2
for r in $(seq "$rounds"); do
  echo "  round $r/$rounds" >&2
  # Other work on the machine moves every figure: note the load each round started under.
  echo "load $(cut -d' ' -f1 /proc/loadavg)" >> "$results"
  run_c c16 16 "$secs"
  run_soak soak16 "$work/w16.yaml"
  run_c c1 1 "$w1secs"
  run_soak soak1 "$work/w1.yaml"
done

python3 - "$results" "$failed" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
failed = sys.argv[2] == "1"
loads = [r[1] for r in rows if r[0] == "load"]
by = {}
for kind, msgs, rate, p50, cpu in (r for r in rows if r[0] != "load"):
    msgs = int(msgs)
    by.setdefault(kind, []).append(dict(rate=float(rate), p50=float(p50),
                                        cpu_per_m=float(cpu) / (msgs / 1e6) if msgs else float("inf")))
def med(kind, key):
    return statistics.median(r[key] for r in by.get(kind, [])) if by.get(kind) else float("nan")
def rounds(kind, key, fmt):
    return " ".join(fmt.format(r[key]) for r in by.get(kind, []))

def paired(a, b, key):
    # Each rpmsg-soak run against the reference run just before it: slow drifts in the
    # machine's other load cancel out.
    ratios = [y[key] / x[key] for x, y in zip(by.get(a, []), by.get(b, []))]
    return statistics.median(ratios) if ratios else float("nan")

print()
print("per round (in order), load average at the start of each: " + " ".join(loads))
for kind, label in [("c16", "C  W=16"), ("soak16", "rpmsg-soak W=16"), ("c1", "C  W=1"), ("soak1", "rpmsg-soak W=1")]:
    print(f"  {label:<16} msgs/s: {rounds(kind, 'rate', '{:.0f}')}")
    print(f"  {'':<16} CPU s/M: {rounds(kind, 'cpu_per_m', '{:.2f}')}   p50 us: {rounds(kind, 'p50', '{:.0f}')}")
print()
c_rate, s_rate = med("c16", "rate"), med("soak16", "rate")
c_cpu, s_cpu = med("c16", "cpu_per_m"), med("soak16", "cpu_per_m")
c_p50, s_p50 = med("c1", "p50"), med("soak1", "p50")
checks = [
    ("messages/s at W=16", f"{c_rate:.0f}", f"{s_rate:.0f}", s_rate / c_rate, ">= 0.90", s_rate / c_rate >= 0.90),
    ("CPU s per 1M msgs, W=16", f"{c_cpu:.2f}", f"{s_cpu:.2f}", s_cpu / c_cpu, "<= 1.50", s_cpu / c_cpu <= 1.50),
    ("round-trip p50 us, W=1", f"{c_p50:.0f}", f"{s_p50:.0f}", s_p50 / c_p50, "<= 1.10", s_p50 / c_p50 <= 1.10),
]
print(f"medians of {len(by.get('c16', []))} rounds")
paired_ratios = [paired("c16", "soak16", "rate"), paired("c16", "soak16", "cpu_per_m"), paired("c1", "soak1", "p50")]
print(f"{'':<26}{'C reference':>12}{'rpmsg-soak':>12}{'ratio':>8}  {'target':<8} {'result':<7} {'paired ratio':>12}")
for (name, c, s, ratio, target, ok), pr in zip(checks, paired_ratios):
    print(f"{name:<26}{c:>12}{s:>12}{ratio:>8.2f}  {target:<8} {'met' if ok else 'MISSED':<7} {pr:>12.2f}")
print(f"{'(W=1 messages/s)':<26}{med('c1', 'rate'):>12.0f}{med('soak1', 'rate'):>12.0f}{med('soak1', 'rate') / med('c1', 'rate'):>8.2f}")
print(f"{'(CPU s per 1M msgs, W=1)':<26}{med('c1', 'cpu_per_m'):>12.2f}{med('soak1', 'cpu_per_m'):>12.2f}{med('soak1', 'cpu_per_m') / med('c1', 'cpu_per_m'):>8.2f}")
sys.exit(2 if failed else (0 if all(c[-1] for c in checks) else 1))
EOF
