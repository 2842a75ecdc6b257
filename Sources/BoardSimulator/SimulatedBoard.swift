import Foundation
import Glibc
import SoakCore
import SoakLinux

/// A simulated i.MX8M Plus running the echo firmware: its RPMsg tty and its M7 debug UART are
/// real pseudo-terminals, its kernel log a file in `/dev/kmsg` format, its power a switch (the
/// API, or `power on|off|cycle` written to the `control` FIFO). Runs on a thread of its own.
///
/// In `directory` it keeps: `ttyRPMSG30` and `ttyM7UART` (links to the current ptys), `kmsg`
/// (the kernel log), `control` (a FIFO) and `remoteproc/` (`state`, `firmware`, `name` as in
/// /sys/class/remoteproc/remoteproc0: write `stop` or `start` to `state`; the board thread
/// answers within 50 ms, where sysfs answers at once).
public final class SimulatedBoard: @unchecked Sendable {
    public struct Options: Sendable {
        public var config: SimulatorConfig
        public var seed: UInt64
        public var directory: String?
        /// Also write kernel records into the real /dev/kmsg (root only).
        public var injectKmsg: Bool
        public init(config: SimulatorConfig, seed: UInt64 = 1, directory: String? = nil, injectKmsg: Bool = false) {
            self.config = config; self.seed = seed; self.directory = directory; self.injectKmsg = injectKmsg
        }
    }

    /// What the board is doing, for a person or a test.
    public struct Status: Sendable {
        public var powered: Bool
        public var booted: Bool
        public var mode: EchoFirmware.Mode?
        public var powerCycles: Int
        public var messagesProcessed: UInt64
        public var kickFailures: UInt64
        public var faults: [FaultSpec.Kind]
    }

    public let options: Options
    public var config: SimulatorConfig { options.config }
    private let extraFaults: [FaultModel]
    private let lock = NSLock()
    private let clock = MonotonicClock()
    private let startMono = MonotonicClock.read()

    // Shared with the board thread, under `lock`.
    private var wantPower = true
    private var alive = false
    private var finished = false
    private var firmware: EchoFirmware?
    private var rpmsg: PseudoTerminal?
    private var uart: PseudoTerminal?
    private var powerCycles = 0
    private var processedBefore: UInt64 = 0
    private var faultsBefore: [FaultSpec.Kind] = []
    private var thread: Thread?

    public init(options: Options, faults: [FaultModel] = []) {
        self.options = options
        extraFaults = faults
    }

    public convenience init(config: SimulatorConfig, faults: [FaultModel] = [], linkDirectory: String? = nil) {
        self.init(options: Options(config: config, directory: linkDirectory), faults: faults)
    }

    public var ttyPath: String? { lock.withLock { rpmsg.map { link("ttyRPMSG30") ?? $0.slavePath } } }
    public var uartPath: String? { lock.withLock { uart.map { link("ttyM7UART") ?? $0.slavePath } } }
    public var kernelLogPath: String? { link("kmsg") }
    public var controlPath: String? { link("control") }
    public var remoteprocPath: String? { link("remoteproc") }
    private func link(_ name: String) -> String? { options.directory.map { "\($0)/\(name)" } }

    public var status: Status {
        lock.withLock {
            Status(powered: wantPower, booted: firmware != nil, mode: firmware?.mode, powerCycles: powerCycles,
                   messagesProcessed: processedBefore + (firmware?.processed ?? 0), kickFailures: firmware?.kickFailures ?? 0,
                   faults: faultsBefore + (firmware?.faultLog.map(\.kind) ?? []))
        }
    }
    public var messagesProcessed: UInt64 { status.messagesProcessed }
    public var droppedQueueFull: UInt64 { lock.withLock { firmware?.droppedQueueFull ?? 0 } }

    /// Starts the board thread with power on: after the boot time the tty appears.
    public func start() {
        if let dir = options.directory {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if let c = controlPath { unlink(c); mkfifo(c, 0o622) }
            if let r = remoteprocPath {
                try? FileManager.default.createDirectory(atPath: r, withIntermediateDirectories: true)
                writeRemoteproc("name", "imx-rproc")
                writeRemoteproc("firmware", "imx8mp_m7_TCM_rpmsg_lite_str_echo_rtos.elf")
                writeRemoteproc("state", "offline")
            }
        }
        lock.withLock { alive = true }
        let t = Thread { [self] in self.main() }
        t.name = "simulated-board"
        thread = t
        t.start()
    }

    /// Ends the board thread; the board powers off (a hang-up for whoever has the tty open).
    public func stop() {
        lock.withLock { alive = false }
        while thread != nil && !lock.withLock({ finished }) { usleep(2_000) }
        if let c = controlPath { unlink(c) }
    }

    public func powerOn() { lock.withLock { wantPower = true } }
    public func powerOff() { lock.withLock { wantPower = false } }

    /// Waits until the tty exists; returns its path, or nil after `timeout` or once `interrupted`.
    public func waitUntilBooted(timeout: SoakDuration, interrupted: () -> Bool = { false }) -> String? {
        let deadline = clock.now() &+ timeout.nanoseconds
        while clock.now() < deadline && !interrupted() {
            if let p = ttyPath { return p }
            usleep(5_000)
        }
        return ttyPath
    }

    // MARK: the board thread

    private var kernel: KernelLogSink?
    private var bootAt: UInt64?
    private var ttyBackAt: UInt64?
    private var stallUntil: UInt64 = 0
    private var pendingEcho: [UInt8] = []
    /// The M7 was stopped through remoteproc: it stays down until `start` (or a power cycle).
    private var m7Stopped = false
    private var remoteprocCheckedAt: UInt64 = 0
    /// M7 restarts through remoteproc, for the per-start seed.
    private var restarts = 0
    private var controlFd: Int32 = -1
    /// `modprobe` / `rmmod imx_rpmsg_tty` from the control FIFO, for the board thread.
    private var driverRequest: Bool?

    private func main() {
        kernel = KernelLogSink(path: kernelLogPath, inject: options.injectKmsg, startMono: startMono)
        if let c = controlPath { controlFd = open(c, O_RDWR | O_NONBLOCK | O_CLOEXEC) }
        defer {
            powerDown()
            // The UART adapter is unplugged only when the simulator ends.
            lock.withLock {
                uart?.close()
                uart = nil
            }
            if let dir = options.directory { unlink("\(dir)/ttyM7UART") }
            if controlFd >= 0 { close(controlFd) }
            lock.withLock { finished = true }
        }
        var readBuffer = [UInt8](repeating: 0, count: 4096)
        var controlBuffer = [UInt8](repeating: 0, count: 256)
        while lock.withLock({ alive }) {
            var now = clock.now()
            readControl(&controlBuffer)
            if now &- remoteprocCheckedAt >= 50_000_000 {
                remoteprocCheckedAt = now
                readRemoteproc(now: now)
            }
            let (want, booted) = lock.withLock { (wantPower, firmware != nil) }
            if want && !booted && !m7Stopped {
                if bootAt == nil { bootAt = now &+ config.bootTime.nanoseconds }
                if let at = bootAt, now >= at { boot(now: now) }
            } else if !want && (booted || bootAt != nil) {
                powerDown()
            }
            // Kept until the board has booted: a modprobe during boot takes effect once it is up.
            if let load = lock.withLock({ () -> Bool? in
                guard firmware != nil, let r = driverRequest else { return nil }
                driverRequest = nil
                return r
            }) {
                let present = lock.withLock { rpmsg != nil }
                if load && !present, let tty = try? PseudoTerminal() {
                    lock.withLock { rpmsg = tty }
                    relink("ttyRPMSG30", tty.slavePath)
                    handle(EchoFirmware.ttyBack(), now: now)
                } else if !load && present {
                    handle([.kernel(level: 6, text: EchoFirmware.ttyDriverRemoved)], now: now)
                    lock.withLock { rpmsg?.close(); rpmsg = nil }
                    if let dir = options.directory { unlink("\(dir)/ttyRPMSG30") }
                }
            }
            if let back = ttyBackAt, now >= back, lock.withLock({ firmware != nil }) {
                ttyBackAt = nil
                if let tty = try? PseudoTerminal() {
                    lock.withLock { rpmsg = tty }
                    relink("ttyRPMSG30", tty.slavePath)
                    handle(EchoFirmware.ttyBack(), now: now)
                }
            }

            var timeout: UInt64 = 20_000_000
            if let due = lock.withLock({ firmware?.nextDue }) { timeout = due > now ? min(timeout, due - now) : 0 }
            if stallUntil > now { timeout = min(timeout, stallUntil - now) }
            if let b = bootAt, b > now { timeout = min(timeout, b - now) }
            if let b = ttyBackAt, b > now { timeout = min(timeout, b - now) }

            let tty = lock.withLock { rpmsg }
            if let tty, stallUntil <= now {
                let ready = tty.wait(forWrite: !pendingEcho.isEmpty, timeout: timeout)
                if ready.readable {
                    let n = tty.readAvailable(into: &readBuffer)
                    now = clock.now()
                    if n > 0, let out = lock.withLock({ firmware?.receive(readBuffer[0..<n], now: now) }) {
                        handle(out, now: now)
                    }
                }
            } else {
                usleep(UInt32(min(timeout, 20_000_000) / 1000))
            }
            now = clock.now()
            if let out = lock.withLock({ firmware?.service(now: now) }) { handle(out, now: now) }
            if !pendingEcho.isEmpty, let tty = lock.withLock({ rpmsg }) {
                let n = tty.writeSome(pendingEcho[...])
                pendingEcho.removeFirst(n)
            }
        }
    }

    private func boot(now: UInt64) {
        bootAt = nil
        let cycle = lock.withLock { powerCycles }
        // Each power-on draws from its own stream: one SplitMix64 step decorrelates the seeds.
        var cycleSeed = options.seed ^ (UInt64(cycle) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(restarts) &* 0xD1B5_4A32_D192_ED03)
        var fw = EchoFirmware(uartBaud: config.uartBaud, heartbeat: config.heartbeat, faults: config.faults,
                              seed: SplitMix64.next(&cycleSeed), powerOnAt: now)
        fw.faults = extraFaults
        // An M7 restarted through remoteproc prints on the same UART adapter.
        guard let serial = lock.withLock({ uart }) ?? (try? PseudoTerminal()) else {
            FileHandle.standardError.write(Data("simulated board: cannot create its UART pty\n".utf8))
            return
        }
        serial.makeRaw()
        relink("ttyM7UART", serial.slavePath)
        let loaded = !config.ttyNeedsModprobe
        let tty = loaded ? try? PseudoTerminal() : nil
        if let tty { relink("ttyRPMSG30", tty.slavePath) }
        let banners = fw.boot(ttyDriverLoaded: loaded)
        lock.withLock {
            firmware = fw
            rpmsg = tty
            uart = serial
        }
        kernel?.record(level: 6, text: "remoteproc remoteproc0: imx-rproc is available", at: now)
        writeRemoteproc("state", config.m7StartedByBootLoader ? "attached" : "running")
        if !config.m7StartedByBootLoader {
            kernel?.record(level: 6, text: "remoteproc remoteproc0: remote processor imx-rproc is now up", at: now)
        }
        handle(banners, now: now)
    }

    /// The M7 stops (remoteproc `stop`): its RPMsg channel and tty go away; Linux and the UART
    /// adapter stay.
    private func stopM7(now: UInt64) {
        bootAt = nil
        ttyBackAt = nil
        stallUntil = 0
        pendingEcho.removeAll()
        m7Stopped = true
        lock.withLock {
            if let fw = firmware {
                processedBefore += fw.processed
                faultsBefore += fw.faultLog.map(\.kind)
            }
            firmware = nil
            rpmsg?.close()
            rpmsg = nil
        }
        if let dir = options.directory { unlink("\(dir)/ttyRPMSG30") }
        kernel?.record(level: 6, text: "remoteproc remoteproc0: stopped remote processor imx-rproc", at: now)
        writeRemoteproc("state", "offline")
    }

    /// Acts on `stop` or `start` written to remoteproc/state.
    private func readRemoteproc(now: UInt64) {
        guard let dir = remoteprocPath, let state = readText("\(dir)/state")?.trimmingCharacters(in: .whitespacesAndNewlines) else { return }
        switch state {
        case "stop" where lock.withLock({ firmware != nil }) && !config.m7StartedByBootLoader:
            stopM7(now: now)
        case "start" where m7Stopped && lock.withLock({ wantPower }):
            m7Stopped = false
            restarts += 1
            bootAt = now &+ config.bootTime.nanoseconds
        case "stop", "start":
            // Not possible now (attached, already stopped, powered off): sysfs would refuse the
            // write with EINVAL or EBUSY; the file goes back to the real state.
            let real = lock.withLock({ firmware != nil }) ? (config.m7StartedByBootLoader ? "attached" : "running") : "offline"
            if !(state == "start" && bootAt != nil) { writeRemoteproc("state", real) }
        case "offline", "running", "attached":
            break
        case "":
            // Read between the writer's O_TRUNC and its write: rewriting the file now would
            // replace it under the writer, whose "stop" would then be lost.
            break
        default:
            // sysfs refuses anything else with EINVAL: the file goes back to the real state.
            if bootAt == nil {
                writeRemoteproc("state", lock.withLock({ firmware != nil }) ? (config.m7StartedByBootLoader ? "attached" : "running") : "offline")
            }
        }
    }

    private func writeRemoteproc(_ file: String, _ text: String) {
        guard let dir = remoteprocPath else { return }
        let tmp = "\(dir)/.\(file).new"
        guard FileManager.default.createFile(atPath: tmp, contents: Data((text + "\n").utf8)) else { return }
        rename(tmp, "\(dir)/\(file)")
    }

    /// The board loses power: the M7 and its RPMsg tty go away. The UART stays: a USB-UART
    /// adapter stays connected (and silent) while the board is off, so a terminal on it (picocom,
    /// the tester's reader) lives through a power cycle and reads the next boot banner.
    private func powerDown() {
        m7Stopped = false
        writeRemoteproc("state", "offline")
        bootAt = nil
        ttyBackAt = nil
        stallUntil = 0
        pendingEcho.removeAll()
        lock.withLock {
            if let fw = firmware {
                processedBefore += fw.processed
                faultsBefore += fw.faultLog.map(\.kind)
                powerCycles += 1
            }
            firmware = nil
            rpmsg?.close()
            rpmsg = nil
        }
        if let dir = options.directory { unlink("\(dir)/ttyRPMSG30") }
    }

    private func handle(_ outputs: [EchoFirmware.Output], now: UInt64) {
        let (tty, serial) = lock.withLock { (rpmsg, uart) }
        for o in outputs {
            switch o {
            case .uart(let text): _ = serial?.writeSome(ArraySlice(text.utf8))
            case .echo(let bytes): pendingEcho.append(contentsOf: bytes)
            case .kernel(let level, let text): kernel?.record(level: level, text: text, at: now)
            case .stall(let ns): stallUntil = max(stallUntil, now) &+ ns
            case .hangup(let down):
                pendingEcho.removeAll()
                lock.withLock {
                    tty?.close()
                    rpmsg = nil
                }
                if let dir = options.directory { unlink("\(dir)/ttyRPMSG30") }
                ttyBackAt = now &+ down
            }
        }
    }

    private func relink(_ name: String, _ target: String) {
        guard let path = link(name) else { return }
        let tmp = path + ".new"
        unlink(tmp)
        symlink(target, tmp)
        rename(tmp, path)
    }

    /// `power on`, `power off`, `power cycle` (or just `on`, `off`, `cycle`), one per line.
    private func readControl(_ buffer: inout [UInt8]) {
        guard controlFd >= 0 else { return }
        let n = buffer.withUnsafeMutableBytes { read(controlFd, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        for line in String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init).filter { $0 != "power" }
            switch words.first {
            case "modprobe" where words.dropFirst().first == "imx_rpmsg_tty": lock.withLock { driverRequest = true }
            case "rmmod" where words.dropFirst().first == "imx_rpmsg_tty": lock.withLock { driverRequest = false }
            case "on": powerOn()
            case "off": powerOff()
            case "cycle":
                powerOff()
                // The board thread sees "off" on its next turn; power returns a moment later.
                let offTime = words.dropFirst().first.flatMap { SoakDuration.parse($0) } ?? .seconds(1)
                DispatchQueue.global().asyncAfter(deadline: .now() + offTime.seconds) { [self] in self.powerOn() }
            default:
                FileHandle.standardError.write(Data("simulated board: unknown control command '\(line)'\n".utf8))
            }
        }
    }
}

/// The simulated board's power input as a power switch.
extension SimulatedBoard: PowerSwitch {
    public var name: String { "sim" }
    public func on() throws(RecoveryFailure) { powerOn() }
    public func off() throws(RecoveryFailure) {
        powerOff()
        // The board thread takes the power away on its next turn: wait until it has.
        let deadline = MonotonicClock.read() &+ 2_000_000_000
        while status.booted && MonotonicClock.read() < deadline { usleep(2_000) }
    }
}
