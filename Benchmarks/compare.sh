#!/usr/bin/env bash
# rpmsg-soak against the C reference (c-reference/echo-ref.c) on the same echo device, in the
# same run, interleaved, over a sweep of message sizes: the issue's performance targets, measured.
#
#   Benchmarks/compare.sh [ROUNDS]        (default 5; medians of the rounds are compared)
#
# The echo device is c-reference/echo-peer.c (a pty pair whose master it echoes itself: one
# process, reads of up to 64 KiB, never the bottleneck) unless ECHO=socat, which uses
# `socat pty,raw,echo=0,link=DEVICE exec:cat` as before (at 496 bytes socat + cat is the
# bottleneck: it cannot show the tester's ceiling).
#
# Each round runs, for every size in SIZES (default "24 64 128 256 496"; a profile's `size` is
# the whole frame, header and CRC included, and echo-ref's SIZE the whole message: both put the
# same bytes on the link):
#   (a) echo-ref, window 16, SECONDS_W16 s       (b) rpmsg-soak, throughput.yaml at that size
# then, once per round at 64 bytes (W1=0 skips it):
#   (c) echo-ref, window 1, W1_SECONDS s         (d) rpmsg-soak, throughput.yaml at window 1
# all under /usr/bin/time (user + system CPU of the whole process, start-up and reports
# included for rpmsg-soak). The order of C and rpmsg-soak alternates from round to round.
# Environment: SECONDS_W16 (default 8), W1_SECONDS (default 8), SIZES, W1, ECHO (peer|socat),
# RPMSG_SOAK (the binary; default: .build-perf/release/rpmsg-soak, built if missing),
# DEVICE (default /tmp/ttyBENCH).
#
# Targets (issue 14): for every size, messages/s at window 16 >= 90% of C's and CPU per message
# <= 1.3x C's; round-trip p50 at window 1 within 10% of C's. Exit status 0 when all are met,
# 1 when one is missed (judged on the ratio of the medians), 2 when a run failed (a tester
# reported an error). "paired" is the median of the per-round ratios, for information.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds="${1:-5}"
secs="${SECONDS_W16:-8}"
w1secs="${W1_SECONDS:-8}"
sizes="${SIZES:-24 64 128 256 496}"
do_w1="${W1:-1}"
echo_kind="${ECHO:-peer}"
device="${DEVICE:-/tmp/ttyBENCH}"
soak="${RPMSG_SOAK:-$root/.build-perf/release/rpmsg-soak}"

for tool in gcc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (scripts/setup installs python3, time)" >&2; exit 2; }
done
case "$echo_kind" in
  peer) ;;
  socat) command -v socat >/dev/null || { echo "compare.sh: socat is missing" >&2; exit 2; } ;;
  *) echo "compare.sh: ECHO must be peer or socat" >&2; exit 2 ;;
esac

work="$(mktemp -d /tmp/rpmsg-soak-compare.XXXXXX)"
echo_pid=""
cleanup() {
  if [ -n "$echo_pid" ]; then kill "$echo_pid" 2>/dev/null || true; wait "$echo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The C programs: rebuilt every time, they take a fraction of a second.
ref="$work/echo-ref"
gcc -O2 -Wall -Wextra -o "$ref" "$here/c-reference/echo-ref.c"
peer="$work/echo-peer"
gcc -O2 -Wall -Wextra -o "$peer" "$here/c-reference/echo-peer.c"

if [ ! -x "$soak" ]; then
  echo "compare.sh: building rpmsg-soak (release, --scratch-path .build-perf)" >&2
  (cd "$root" && swift build -c release --static-swift-stdlib --scratch-path .build-perf >&2)
fi

# The profiles: throughput.yaml as it is, but SECONDS long at each size, and a window-1 copy.
for size in $sizes; do
  sed -e "s/^\(    duration:\) 30s/\1 ${secs}s/" -e "s/^\(    size:\) 64/\1 ${size}/" \
      "$root/profiles/throughput.yaml" > "$work/w16-$size.yaml"
  grep -q "duration: ${secs}s" "$work/w16-$size.yaml" && grep -q "size: ${size}\$" "$work/w16-$size.yaml" \
    || { echo "compare.sh: profiles/throughput.yaml changed shape; update the sed lines" >&2; exit 2; }
done
sed -e "s/^\(    duration:\) 30s/\1 ${w1secs}s/" -e 's/^\(    window:\) 16/\1 1/' \
    "$root/profiles/throughput.yaml" > "$work/w1.yaml"
grep -q 'window: 1$' "$work/w1.yaml" \
  || { echo "compare.sh: profiles/throughput.yaml changed shape; update the sed lines" >&2; exit 2; }
printf 'name: bench-echo\nlink:\n  device: %s\n' "$device" > "$work/board.yaml"

start_echo() {
  if [ -n "$echo_pid" ] && kill -0 "$echo_pid" 2>/dev/null; then return; fi
  rm -f "$device"
  if [ "$echo_kind" = peer ]; then
    "$peer" "$device" > /dev/null &
  else
    socat pty,raw,echo=0,link="$device" exec:cat &
  fi
  echo_pid=$!
  for _ in $(seq 50); do [ -e "$device" ] && return; sleep 0.1; done
  echo "compare.sh: the $echo_kind echo did not create $device" >&2
  exit 2
}

results="$work/results.tsv"
: > "$results"
failed=0

# run_c KIND WINDOW SECONDS SIZE: one line "KIND msgs msgs_per_s p50_us cpu_s" in results.
run_c() {
  local kind="$1" window="$2" s="$3" size="$4"
  start_echo
  local out
  if ! out="$(/usr/bin/time -f '%U %S' -o "$work/time" "$ref" "$device" "$window" "$s" "$size")"; then
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
  start_echo
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

echo "compare.sh: $rounds rounds on the $echo_kind echo ($device): sizes $sizes at window 16 (${secs} s each)$([ "$do_w1" = 1 ] && echo ", 64 bytes at window 1 (${w1secs} s)")" >&2
for r in $(seq "$rounds"); do
  echo "  round $r/$rounds" >&2
  # Other work on the machine moves every figure: note the load each round started under.
  echo "load $(cut -d' ' -f1 /proc/loadavg)" >> "$results"
  for size in $sizes; do
    if [ $((r % 2)) = 1 ]; then
      run_c "c16-$size" 16 "$secs" "$size"; run_soak "soak16-$size" "$work/w16-$size.yaml"
    else
      run_soak "soak16-$size" "$work/w16-$size.yaml"; run_c "c16-$size" 16 "$secs" "$size"
    fi
  done
  if [ "$do_w1" = 1 ]; then
    run_c c1 1 "$w1secs" 64
    run_soak soak1 "$work/w1.yaml"
  fi
done
echo "load $(cut -d' ' -f1 /proc/loadavg) (end)" >> "$results"

python3 - "$results" "$failed" "$sizes" "$do_w1" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
failed = sys.argv[2] == "1"
sizes = sys.argv[3].split()
do_w1 = sys.argv[4] == "1"
loads = [" ".join(r[1:]) for r in rows if r[0] == "load"]
by = {}
for kind, msgs, rate, p50, cpu in (r for r in rows if r[0] != "load"):
    msgs = int(msgs)
    by.setdefault(kind, []).append(dict(rate=float(rate), p50=float(p50),
                                        cpu_per_m=float(cpu) / (msgs / 1e6) if msgs else float("inf")))
def med(kind, key):
    return statistics.median(r[key] for r in by.get(kind, [])) if by.get(kind) else float("nan")
def spread(kind, key, fmt):
    v = [r[key] for r in by.get(kind, [])]
    return f"{fmt.format(min(v))}-{fmt.format(max(v))}" if v else "-"
def paired(a, b, key):
    # Each rpmsg-soak run against the reference run beside it: slow drifts cancel out.
    ratios = [y[key] / x[key] for x, y in zip(by.get(a, []), by.get(b, []))]
    return statistics.median(ratios) if ratios else float("nan")

print()
print("load average at the start of each round: " + ", ".join(loads))
n = len(by.get(f"c16-{sizes[0]}", []))
print(f"window 16, medians of {n} interleaved rounds (min-max of the rounds); CPU = user + system s per 1M messages")
print()
hdr = f"{'size':>5} | {'C msg/s':>16} | {'soak msg/s':>16} | {'ratio':>5} {'paired':>6} {'>=0.90':>6} | {'C CPU s/M':>16} | {'soak CPU s/M':>16} | {'ratio':>5} {'paired':>6} {'<=1.30':>6}"
print(hdr)
print("-" * len(hdr))
ok_all = True
for size in sizes:
    c, s = f"c16-{size}", f"soak16-{size}"
    rr = med(s, "rate") / med(c, "rate")
    cr = med(s, "cpu_per_m") / med(c, "cpu_per_m")
    ok_r, ok_c = rr >= 0.90, cr <= 1.30
    ok_all = ok_all and ok_r and ok_c
    print(f"{size:>5} | {med(c,'rate'):>6.0f} {spread(c,'rate','{:.0f}'):>9} | {med(s,'rate'):>6.0f} {spread(s,'rate','{:.0f}'):>9} | "
          f"{rr:>5.2f} {paired(c,s,'rate'):>6.2f} {'met' if ok_r else 'MISSED':>6} | "
          f"{med(c,'cpu_per_m'):>5.2f} {spread(c,'cpu_per_m','{:.2f}'):>10} | {med(s,'cpu_per_m'):>5.2f} {spread(s,'cpu_per_m','{:.2f}'):>10} | "
          f"{cr:>5.2f} {paired(c,s,'cpu_per_m'):>6.2f} {'met' if ok_c else 'MISSED':>6}")
if do_w1:
    c_p50, s_p50 = med("c1", "p50"), med("soak1", "p50")
    ok = s_p50 / c_p50 <= 1.10
    ok_all = ok_all and ok
    print()
    print(f"window 1, 64 bytes: round-trip p50 C {c_p50:.0f} us ({spread('c1','p50','{:.0f}')}), rpmsg-soak {s_p50:.0f} us "
          f"({spread('soak1','p50','{:.0f}')}): ratio {s_p50 / c_p50:.2f} (paired {paired('c1','soak1','p50'):.2f}), "
          f"target <= 1.10 {'met' if ok else 'MISSED'}; msg/s C {med('c1','rate'):.0f}, rpmsg-soak {med('soak1','rate'):.0f}")
sys.exit(2 if failed else (0 if ok_all else 1))
EOF
