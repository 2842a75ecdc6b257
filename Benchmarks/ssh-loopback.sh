#!/usr/bin/env bash
# Throughput of the same echo device reached directly and through ssh on loopback: what the
# lab host mode (the board's tty over ssh) costs. Interleaved rounds, each running
#   (a) rpmsg-soak on the device directly        (b) rpmsg-soak on the device through ssh
# with profiles/throughput.yaml (64 bytes, window 16, rate max) for SECONDS s, under
# /usr/bin/time: the CPU figures are the tester's with its children (the ssh client on this
# side), not sshd's (on a real setup that runs on the board).
#
#   Benchmarks/ssh-loopback.sh [ROUNDS]     (default 3)
#
# Environment: SECONDS_RUN (default 15), RPMSG_SOAK (default .build-perf/release/rpmsg-soak,
# built if missing). Starts its own sshd on a free port of 127.0.0.1 with its own keys, as the
# tests do (needs openssh-server and root for /run/sshd); nothing of the system's is changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds="${1:-3}"
secs="${SECONDS_RUN:-15}"
soak="${RPMSG_SOAK:-$root/.build-perf/release/rpmsg-soak}"

for tool in socat python3 /usr/bin/time /usr/sbin/sshd ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "ssh-loopback.sh: $tool is missing (scripts/setup installs it)" >&2; exit 2; }
done

work="$(mktemp -d /tmp/rpmsg-soak-ssh-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$soak" ]; then
  echo "ssh-loopback.sh: building rpmsg-soak (release, --scratch-path .build-perf)" >&2
  (cd "$root" && swift build -c release --static-swift-stdlib --scratch-path .build-perf >&2)
fi

# sshd on 127.0.0.1, its own host and user keys.
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$work/userkey"
cp "$work/userkey.pub" "$work/authorized_keys"
mkdir -p /run/sshd
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/hostkey
AuthorizedKeysFile $work/authorized_keys
PidFile none
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
EOF
/usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" &
pids+=($!)

# The echo device: socat's pty with cat behind it.
device="$work/ttyBENCH"
socat "pty,raw,echo=0,link=$device" exec:cat &
pids+=($!)
for _ in $(seq 100); do [ -e "$device" ] && break; sleep 0.05; done

sed -e "s/^\(    duration:\) 30s/\1 ${secs}s/" "$root/profiles/throughput.yaml" > "$work/profile.yaml"
grep -q "duration: ${secs}s" "$work/profile.yaml" || { echo "ssh-loopback.sh: profiles/throughput.yaml changed shape" >&2; exit 2; }
printf 'name: direct\nlink: {device: %s}\nkernel_log: {source: none}\n' "$device" > "$work/direct.yaml"
printf 'name: over-ssh\nlink: {ssh: root@127.0.0.1, device: %s, ssh_options: [-p, "%s", -i, %s, -o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=%s, -o, LogLevel=ERROR]}\nkernel_log: {source: none}\n' \
  "$device" "$port" "$work/userkey" "$work/known_hosts" > "$work/ssh.yaml"

# One run: prints "MSGS_PER_S CPU_S_PER_MILLION P50_US P99_US NET_P50_US".
one() {
  local board="$1" out="$work/out-$RANDOM"
  /usr/bin/time -f '%U %S' -o "$work/time" "$soak" run "$work/profile.yaml" --board "$board" --out "$out" --quiet >/dev/null 2>"$work/err" \
    || { echo "ssh-loopback.sh: the run on $board failed:" >&2; cat "$work/err" >&2; exit 2; }
  python3 - "$out/latest/summary.json" "$work/time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
echoed = s["totals"]["echoed"]
lat = s.get("latency_micros") or {}
net = ((s.get("network") or {}).get("round_trip_micros") or {})
print(f'{s["messages_per_second"]:.0f} {(user + system) / echoed * 1e6:.1f} {lat.get("p50", 0)} {lat.get("p99", 0)} {net.get("p50", "-")}')
PY
}

printf '%-6s %-8s %10s %14s %8s %8s %12s\n' round link "msg/s" "CPU s/M msgs" "p50 us" "p99 us" "ssh rtt p50"
for r in $(seq "$rounds"); do
  for kind in direct ssh; do
    read -r rate cpu p50 p99 net < <(one "$work/$kind.yaml")
    printf '%-6s %-8s %10s %14s %8s %8s %12s\n' "$r" "$kind" "$rate" "$cpu" "$p50" "$p99" "$net"
  done
done
