#!/bin/sh
# Placeholder guest test: the environment works (see Tests/GpioSim/init.sh for the contract).
# Prints "ok - ..." / "not ok - ..." per check and "# note ..." for facts; exit 1 on any not ok.
fails=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
note() { echo "# note: $*"; }
# check DESCRIPTION COMMAND...: runs COMMAND, shows its output as a comment when it fails
check() {
  d=$1; shift
  if "$@" > /tmp/check.out 2>&1; then ok "$d"; else notok "$d"; sed 's/^/#   /' /tmp/check.out; fi
}
# wait_value LINE WANT: polls sim_gpioLINE/value for up to 5 s
wait_value() {
  i=0
  while [ "$(cat "$GPIO_SIM_DEVICE/sim_gpio$1/value" 2>/dev/null)" != "$2" ]; do
    i=$((i + 1)); [ $i -le 50 ] || return 1; sleep 0.1
  done
}

echo "# GPIOD_API=$GPIOD_API GPIO_SIM_CHIP=$GPIO_SIM_CHIP GPIO_SIM_DEVICE=$GPIO_SIM_DEVICE"
if v=$(rpmsg-soak --version 2>&1); then ok "rpmsg-soak --version: $v"; else notok "rpmsg-soak --version"; echo "$v" | sed 's/^/#   /'; fi
gpiodetect 2>&1 | sed 's/^/#   /'
check "gpiodetect shows relaychip" sh -c 'gpiodetect | grep -q "relaychip"'
if [ "$GPIOD_API" = 1 ]; then
  check "gpioinfo shows POWER_RELAY" sh -c 'gpioinfo "$GPIO_SIM_CHIP" | grep -q "\"POWER_RELAY\""'
else
  check "gpioinfo shows POWER_RELAY" sh -c 'gpioinfo -c "$GPIO_SIM_CHIP" | grep -q "\"POWER_RELAY\""'
fi
if [ "$GPIOD_API" = 2 ]; then
  if gpioinfo -c relaychip >/dev/null 2>&1; then note "v2 tools accept the label for -c (-c relaychip)"
  else note "v2 tools do not accept the label for -c (-c relaychip): use -c \$GPIO_SIM_CHIP"; fi
fi
check "sim_gpio0/value is readable and 0" sh -c '[ "$(cat "$GPIO_SIM_DEVICE/sim_gpio0/value")" = 0 ]'

tracing=/sys/kernel/tracing
if [ -w $tracing/events/gpio/enable ]; then
  echo > $tracing/trace
  echo 1 > $tracing/events/gpio/enable
else
  note "no $tracing/events/gpio (tracefs or gpio events missing)"
fi

if [ "$GPIOD_API" = 1 ]; then
  gpioset --mode=time --sec=2 "$GPIO_SIM_CHIP" 0=1 & pid=$!
else
  gpioset -c "$GPIO_SIM_CHIP" POWER_RELAY=1 & pid=$!
fi
if wait_value 0 1; then ok "gpioset drives POWER_RELAY to 1 (sim_gpio0/value = 1)"
else notok "gpioset drives POWER_RELAY to 1 (sim_gpio0/value = $(cat "$GPIO_SIM_DEVICE/sim_gpio0/value"))"; fi
if [ "$GPIOD_API" = 1 ]; then wait $pid; else kill $pid; wait $pid 2>/dev/null; fi
if wait_value 0 0; then ok "released line goes back to its pull (sim_gpio0/value = 0)"
else notok "released line goes back to its pull (sim_gpio0/value = $(cat "$GPIO_SIM_DEVICE/sim_gpio0/value"))"; fi

if [ -w $tracing/events/gpio/enable ]; then
  echo 0 > $tracing/events/gpio/enable
  n=$(grep -c 'gpio_value:' $tracing/trace)
  if [ "$n" -gt 0 ]; then
    ok "tracepoints: $n gpio_value events"
    grep -E 'gpio_(value|direction):' $tracing/trace | head -n 4 | sed 's/^/#   /'
  else
    note "tracepoints: no gpio_value events after driving the line"
  fi
fi

[ $fails -eq 0 ] || { echo "# $fails check(s) failed"; exit 1; }
exit 0
