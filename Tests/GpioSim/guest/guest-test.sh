#!/bin/sh
# The GPIO relay through the project's own gpio power switch, on a real GPIO character device
# (gpio-sim), with libgpiod v1 or v2 (whichever /bin/rpmsg-soak was built against).
# Each step checks the simulated line's value; the values driven after the process let go
# (gpio-sim returns a released line to its pull) are read from the kernel's gpio_value trace.
# Runs in the QEMU guest that scripts/gpio-sim-test boots; the environment is in init.sh.
T=/test
SIM=$GPIO_SIM_DEVICE
TRACE=/sys/kernel/tracing
FAILED=0
N=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); echo "not ok $N - $*"; FAILED=1; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
value() { cat "$SIM/sim_gpio$1/value"; }
is_value() { [ "$(value "$1")" = "$2" ]; }
# wait_for FILE TEXT: up to 20 s for TEXT to appear in FILE (a file of its own per process: the
# shell truncates a reused one only when the child starts)
wait_for() { i=0; while [ $i -lt 200 ]; do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; i=$((i + 1)); done; return 1; }
# wait_value LINE V: up to 10 s for the line to read V
wait_value() { i=0; while [ $i -lt 100 ]; do is_value "$1" "$2" && return 0; sleep 0.1; i=$((i + 1)); done; return 1; }
trace_on() { [ -w $TRACE/events/gpio/gpio_value/enable ] && echo 1 > $TRACE/events/gpio/gpio_value/enable && : > $TRACE/trace; }
trace_clear() { [ -w $TRACE/trace ] && : > $TRACE/trace; }
# The values this test's processes set, oldest first: "1 0 1".
trace_sets() { grep -o 'gpio_value: [0-9]* set [01]' $TRACE/trace 2>/dev/null | awk '{print $4}' | tr '\n' ' ' | sed 's/ $//'; }
last_set() { trace_sets | awk '{print $NF}'; }
pull() { echo "pull-$2" > "$SIM/sim_gpio$1/pull"; }

echo "# the guest's tools and chip (tools-test.sh)"
sh $T/tools-test.sh || FAILED=1
echo "# relay tests: $(rpmsg-soak --version), chip $GPIO_SIM_CHIP, libgpiod API v$GPIOD_API"
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
sed "s#/dev/GPIO_SIM_CHIP#/dev/$GPIO_SIM_CHIP#" $T/relay-active-low.yaml > /tmp/relay-active-low.yaml
if trace_on; then TRACING=1; echo "# gpio_value tracing is on"; else TRACING=0; echo "# no gpio tracepoints: exit values are not checked"; fi
# after_exit DESC VALUE: the last value the process drove before letting go
after_exit() {
    if [ $TRACING = 1 ]; then check "$1 (driven: $(trace_sets))" [ "$(last_set)" = "$2" ]; else echo "# skipped: $1"; fi
}

# 1. on, held: the line is driven high and nobody else can take it
pull 0 down
trace_clear
rpmsg-soak power on --board $T/relay.yaml --hold > /tmp/hold.out 2>&1 &
HOLDER=$!
check "power on --hold reports holding" wait_for /tmp/hold.out holding
check "power on drives POWER_RELAY high" is_value 0 1
rpmsg-soak power status --board $T/relay.yaml > /tmp/status.out 2>&1
rc=$?
check "status of a line held by another process exits 3 (got $rc)" [ $rc = 3 ]
grep -q "consumer 'rpmsg-soak', process" /tmp/status.out && grep -q "process $HOLDER (rpmsg-soak)" /tmp/status.out; both=$?
check "the error names the holder: $(cat /tmp/status.out)" [ $both = 0 ]
rpmsg-soak power off --board $T/relay.yaml > /tmp/busy.out 2>&1
rc=$?
check "a second switch on a held line fails with exit 3 (got $rc)" [ $rc = 3 ]
check "... and leaves the line as the holder drives it" is_value 0 1
kill -TERM $HOLDER; wait $HOLDER; rc=$?
check "SIGTERM ends a hold with exit 0 (got $rc)" [ $rc = 0 ]
check "... saying the board is left on" grep -q "power left on" /tmp/hold.out
after_exit "a hold ended by SIGTERM leaves the line on" 1

# 2. off, held; SIGTERM puts it back to the declared state (on)
trace_clear
rpmsg-soak power off --board $T/relay.yaml --hold > /tmp/off.out 2>&1 &
P=$!
wait_for /tmp/off.out holding
check "power off drives POWER_RELAY low" is_value 0 0
kill -TERM $P; wait $P
check "SIGTERM after power off switches the board back on" grep -q "power switched on (on_exit: on)" /tmp/off.out
after_exit "the last value driven is on" 1

# 3. a cycle interrupted by SIGTERM while the power is off
trace_clear
rpmsg-soak power cycle --off-time 60s --board $T/relay.yaml > /tmp/cycle.out 2>&1 &
P=$!
check "power cycle switches the line off" wait_value 0 0
sleep 0.5
check "... and keeps it off during the off time" is_value 0 0
kill -TERM $P; wait $P; rc=$?
check "SIGTERM mid-cycle exits 130 (got $rc)" [ $rc = 130 ]
check "SIGTERM mid-cycle switches the board on: $(tail -n 1 /tmp/cycle.out)" grep -q "power switched on (on_exit: on)" /tmp/cycle.out
after_exit "SIGTERM mid-cycle leaves the line in the declared state (on)" 1
[ $TRACING = 1 ] && check "the cycle drove off, then on (driven: $(trace_sets))" [ "$(trace_sets | tr ' ' '\n' | uniq | tr '\n' ' ' | sed 's/ $//')" = "0 1" ]

# 4. a whole cycle, then held: off for the off time, then on
trace_clear
rpmsg-soak power cycle --off-time 1s --hold --board $T/relay.yaml > /tmp/full.out 2>&1 &
P=$!
check "a cycle starts with the line off" wait_value 0 0
check "... and switches it on after the off time" wait_for /tmp/full.out holding
check "... the line is on again" is_value 0 1
kill -TERM $P; wait $P
[ $TRACING = 1 ] && check "the full cycle drove off then on (driven: $(trace_sets))" [ "$(trace_sets | tr ' ' '\n' | uniq | tr '\n' ' ' | sed 's/ $//')" = "0 1" ]

# 5. active-low relay on line 1, chip by path, line by offset
pull 1 down
rpmsg-soak power on --board /tmp/relay-active-low.yaml --hold > /tmp/al-on.out 2>&1 &
P=$!
wait_for /tmp/al-on.out holding
check "active-low: power on drives line 1 low" is_value 1 0
kill -TERM $P; wait $P
rpmsg-soak power off --board /tmp/relay-active-low.yaml --hold > /tmp/al-off.out 2>&1 &
P=$!
wait_for /tmp/al-off.out holding
check "active-low: power off drives line 1 high" is_value 1 1
kill -TERM $P; wait $P

# 6. on_exit: off
trace_clear
rpmsg-soak power on --board $T/relay-off-on-exit.yaml --hold > /tmp/oe.out 2>&1 &
P=$!
wait_for /tmp/oe.out holding
check "on_exit off: on while held" is_value 0 1
kill -TERM $P; wait $P
check "on_exit off: SIGTERM switches the board off" grep -q "power switched off (on_exit: off)" /tmp/oe.out
after_exit "on_exit off: the last value driven is off" 0

# 6b. SIGKILL (the OOM killer, a crash) cannot run any handler: the power guard process that
#     holds a copy of the request drives the declared state when the tester vanishes
soak_processes() { cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^rpmsg-soak$'; }
pull 0 up  # so that reading 0 means the cycle has begun
trace_clear
rpmsg-soak power cycle --off-time 60s --board $T/relay.yaml > /tmp/kill.out 2>&1 &
P=$!
check "SIGKILL test: the cycle switches the line off" wait_value 0 0
# The guard starts just after the line is requested: give it a moment on a slow guest.
i=0; while [ "$(soak_processes)" != 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "... with a guard beside the tester ($(soak_processes) rpmsg-soak processes)" [ "$(soak_processes)" = 2 ]
kill -KILL $P; wait $P 2>/dev/null
i=0; while [ "$(soak_processes)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "SIGKILL mid-cycle: the guard is gone too" [ "$(soak_processes)" = 0 ]
check "... and said what it did: $(cat /tmp/kill.out | tail -n 1)" grep -q "power-guard: rpmsg-soak (process $P) ended without releasing the relay: the line is driven on" /tmp/kill.out
after_exit "SIGKILL mid-cycle leaves the line in the declared state (on)" 1
trace_clear
rpmsg-soak power on --board $T/relay-off-on-exit.yaml --hold > /tmp/kill2.out 2>&1 &
P=$!
wait_for /tmp/kill2.out holding
kill -KILL $P; wait $P 2>/dev/null
i=0; while [ "$(soak_processes)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
after_exit "SIGKILL of a hold with on_exit off leaves the line off" 0
check "... and the guard said so" grep -q "the line is driven off, the declared state" /tmp/kill2.out
pull 0 down
check "a normal end dismisses the guard without a word" sh -c '! grep -q power-guard /tmp/hold.out /tmp/off.out /tmp/cycle.out /tmp/full.out /tmp/oe.out'

# 7. status reads the line without changing it (gpio-sim: a released line follows its pull)
pull 0 up
rpmsg-soak power status --board $T/relay.yaml > /tmp/st.out 2>&1; rc=$?
[ $rc = 0 ] && grep -qx on /tmp/st.out; both=$?
check "status of a line at 1 prints on and exits 0 (got $rc: $(cat /tmp/st.out))" [ $both = 0 ]
pull 0 down
rpmsg-soak power status --board $T/relay.yaml > /tmp/st.out 2>&1; rc=$?
[ $rc = 1 ] && grep -qx off /tmp/st.out; both=$?
check "status of a line at 0 prints off and exits 1 (got $rc: $(cat /tmp/st.out))" [ $both = 0 ]

# 8. a line held by another program (the gpiod tools of the same libgpiod)
if [ "$GPIOD_API" = 1 ]; then
    gpioset --mode=signal "$GPIO_SIM_CHIP" 0=1 &
else
    gpioset -c "$GPIO_SIM_CHIP" POWER_RELAY=1 &
fi
G=$!
wait_value 0 1
rpmsg-soak power on --board $T/relay.yaml > /tmp/g.out 2>&1; rc=$?
check "a line held by gpioset: exit 3 (got $rc)" [ $rc = 3 ]
check "the error names gpioset and its process: $(cat /tmp/g.out)" grep -q "process $G (gpioset)" /tmp/g.out
check "the error names the chip and line" grep -q "\[relaychip\] line 0 'POWER_RELAY' is held by another process" /tmp/g.out
kill $G; wait $G 2>/dev/null

# 9. bad names are clear errors, exit 3, before anything is driven
sed 's/chip: relaychip/chip: nochip/' $T/relay.yaml > /tmp/nochip.yaml
rpmsg-soak power on --board /tmp/nochip.yaml > /tmp/e.out 2>&1; rc=$?
[ $rc = 3 ] && grep -q "no GPIO chip labelled 'nochip' (chips here: $GPIO_SIM_CHIP \[relaychip\] 8 lines; rpmsg-soak devices lists their lines)" /tmp/e.out; both=$?
check "an unknown chip label exits 3 and lists the chips: $(cat /tmp/e.out)" [ $both = 0 ]
sed 's/line: POWER_RELAY/line: NO_SUCH_LINE/' $T/relay.yaml > /tmp/noline.yaml
rpmsg-soak power on --board /tmp/noline.yaml > /tmp/e.out 2>&1; rc=$?
[ $rc = 3 ] && grep -q "has no line named 'NO_SUCH_LINE'" /tmp/e.out; both=$?
check "an unknown line name exits 3: $(cat /tmp/e.out)" [ $both = 0 ]

# 10. rpmsg-soak devices lists the chip and its named lines for a board file
rpmsg-soak devices > /tmp/devices.out 2>&1
check "devices lists the chip: $(grep relaychip /tmp/devices.out | head -n 1)" grep -q "/dev/$GPIO_SIM_CHIP  $GPIO_SIM_CHIP \[relaychip\] 8 lines" /tmp/devices.out
check "devices lists the named lines" grep -q 'line 0 "POWER_RELAY"' /tmp/devices.out
check "devices prints a power: block" grep -q 'power: {kind: gpio, chip: "relaychip"' /tmp/devices.out

# 11. a soak run holds the line from start to end: normal end, then SIGTERM mid-run
cd /tmp
trace_clear
pull 0 down
rpmsg-soak run $T/short-run.yaml --board $T/sim-with-relay.yaml --out /tmp/runs --quiet > /tmp/run.out 2>&1 &
P=$!
check "a run drives the relay on" wait_value 0 1
rpmsg-soak power off --board $T/relay.yaml > /tmp/busy.out 2>&1; rc=$?
[ $rc = 3 ] && grep -q "(rpmsg-soak)" /tmp/busy.out; both=$?
check "nobody can switch the relay during a run (exit $rc)" [ $both = 0 ]
sleep 2
check "... still on mid-run" is_value 0 1
kill -TERM $P; wait $P; rc=$?
check "SIGTERM mid-run exits 130 (got $rc)" [ $rc = 130 ]
check "the run's timeline records the relay" grep -q '"type":"power"' /tmp/runs/latest/events.jsonl
after_exit "a run stopped by SIGTERM leaves the relay on" 1
sed 's/duration: 20s/duration: 3s/' $T/short-run.yaml > /tmp/run3.yaml
rpmsg-soak run /tmp/run3.yaml --board $T/sim-with-relay.yaml --out /tmp/runs --quiet > /tmp/run.out 2>&1; rc=$?
check "a short run with the relay passes (exit $rc: $(head -n 1 /tmp/run.out))" [ $rc = 0 ]

echo "1..$N"
exit $FAILED
