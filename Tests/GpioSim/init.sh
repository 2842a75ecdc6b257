#!/bin/sh
# /init of the gpio-sim QEMU guest (scripts/gpio-sim-test copies this file into each initramfs).
#
# Contract with the tests in /test (Tests/GpioSim/guest/, run as `sh /test/guest-test.sh`):
#   GPIO_SIM_DEVICE  sysfs dir of the simulated chip, e.g. /sys/bus/gpio/devices/gpiochip0;
#                    $GPIO_SIM_DEVICE/sim_gpioN/value is the value a program drives on line N,
#                    $GPIO_SIM_DEVICE/sim_gpioN/pull (pull-up|pull-down) sets what an input reads
#   GPIO_SIM_CHIP    its chip name, e.g. gpiochip0 (/dev/$GPIO_SIM_CHIP)
#   GPIO_SIM_CONFIG  its configfs dir (/sys/kernel/config/gpio-sim/relay; `live` 0/1 removes and
#                    re-adds the chip with real uevents)
#   GPIOD_API        1 (libgpiod 1.6.3) or 2 (libgpiod 2.1.3): the version of BOTH /bin/rpmsg-soak
#                    and the gpiod tools (gpioset gpioget gpioinfo gpiodetect gpiomon) on PATH
#   the chip         label "relaychip", 8 lines, line 0 named POWER_RELAY, line 1 AUX_RELAY
#   also             busybox applets on PATH; proc, sysfs, devtmpfs, configfs, tracefs (if the
#                    kernel has it) at /sys/kernel/tracing, a tmpfs at /tmp; the working
#                    directory is /tmp; no network, no udevd
# The test's exit status decides: 0 prints "GPIO-SIM-RESULT: PASS", N "GPIO-SIM-RESULT: FAIL (exit N)".
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

result() { echo "GPIO-SIM-RESULT: $*"; sync; poweroff -f; sleep 10; exit 1; }
setup_fail() { result "FAIL (setup: $*)"; }

mount -t proc proc /proc || setup_fail "mount proc"
mount -t sysfs sysfs /sys || setup_fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev || setup_fail "mount devtmpfs"
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp || setup_fail "mount tmpfs /tmp"
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

insmod /modules/configfs.ko || setup_fail "insmod configfs.ko"
mount -t configfs configfs /sys/kernel/config || setup_fail "mount configfs"
insmod /modules/gpio-sim.ko || setup_fail "insmod gpio-sim.ko"

GPIO_SIM_CONFIG=/sys/kernel/config/gpio-sim/relay
b=$GPIO_SIM_CONFIG/bank0
mkdir $GPIO_SIM_CONFIG $b $b/line0 $b/line1 || setup_fail "mkdir gpio-sim configfs dirs"
echo 8 > $b/num_lines || setup_fail "num_lines"
echo relaychip > $b/label || setup_fail "label"
echo POWER_RELAY > $b/line0/name || setup_fail "line0 name"
echo AUX_RELAY > $b/line1/name || setup_fail "line1 name"
echo 1 > $GPIO_SIM_CONFIG/live || setup_fail "live"

GPIO_SIM_CHIP=$(cat $b/chip_name 2>/dev/null)
GPIO_SIM_DEVICE=/sys/bus/gpio/devices/$GPIO_SIM_CHIP
if [ -z "$GPIO_SIM_CHIP" ] || [ ! -d "$GPIO_SIM_DEVICE/sim_gpio0" ]; then
  GPIO_SIM_DEVICE=
  for d in /sys/bus/gpio/devices/gpiochip*; do
    [ -d "$d/sim_gpio0" ] && { GPIO_SIM_DEVICE=$d; break; }
  done
  [ -n "$GPIO_SIM_DEVICE" ] || setup_fail "no gpiochip with sim_gpio0"
  GPIO_SIM_CHIP=${GPIO_SIM_DEVICE##*/}
fi
i=0
while [ ! -c /dev/$GPIO_SIM_CHIP ]; do
  i=$((i + 1)); [ $i -le 50 ] || setup_fail "no /dev/$GPIO_SIM_CHIP"; sleep 0.1
done

GPIOD_API=
for a in $(cat /proc/cmdline); do
  case "$a" in gpiod_api=*) GPIOD_API=${a#gpiod_api=} ;; esac
done
case "$GPIOD_API" in 1|2) ;; *) setup_fail "gpiod_api=1|2 missing from the kernel command line" ;; esac
export GPIO_SIM_DEVICE GPIO_SIM_CHIP GPIO_SIM_CONFIG GPIOD_API

echo "# guest: kernel $(uname -r), chip $GPIO_SIM_CHIP at $GPIO_SIM_DEVICE, GPIOD_API=$GPIOD_API"
cd /tmp
sh /test/guest-test.sh
rc=$?
if [ $rc -eq 0 ]; then result "PASS"; else result "FAIL (exit $rc)"; fi
