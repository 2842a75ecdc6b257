import Foundation
import Glibc
import SoakCore
import SoakLinux

/// A simulated i.MX8M Plus running the echo firmware: its RPMsg tty and its M7 debug UART are
/// real pseudo-terminals, so the tester (or any application) talks to it through the same
/// system calls as to the board. Runs on a thread of its own.
public final class SimulatedBoard: @unchecked Sendable {
    public let config: SimulatorConfig
    private let lock = NSLock()
    private var firmware: EchoFirmware
    private var rpmsg: PseudoTerminal?
    private var uart: PseudoTerminal?
    private var thread: Thread?
    private var running = false
    private var finished = false
    private let clock = MonotonicClock()
    /// Where to link the tty and UART (`ttyRPMSG30`, `ttyM7UART`), for a person to find them.
    private let linkDirectory: String?

    public init(config: SimulatorConfig, faults: [FaultModel] = [], linkDirectory: String? = nil) {
        self.config = config
        firmware = EchoFirmware(uartBaud: config.uartBaud)
        firmware.faults = faults
        self.linkDirectory = linkDirectory
    }

    /// The RPMsg tty's path once the board has booted; nil before.
    public var ttyPath: String? { lock.withLock { rpmsg.map { linkPath("ttyRPMSG30") ?? $0.slavePath } } }
    /// The M7 debug UART's path once the board has booted.
    public var uartPath: String? { lock.withLock { uart.map { linkPath("ttyM7UART") ?? $0.slavePath } } }

    private func linkPath(_ name: String) -> String? { linkDirectory.map { "\($0)/\(name)" } }

    /// Powers the board on: after the boot time the tty appears and the firmware prints its banners.
    public func start() {
        lock.withLock { running = true }
        let t = Thread { [self] in self.main() }
        t.name = "simulated-board"
        thread = t
        t.start()
    }

    /// Waits until the tty exists; returns its path, or nil after `timeout`.
    public func waitUntilBooted(timeout: SoakDuration) -> String? {
        let deadline = clock.now() &+ timeout.nanoseconds
        while clock.now() < deadline {
            if let p = ttyPath { return p }
            usleep(5_000)
        }
        return ttyPath
    }

    /// Powers off: the tty and UART vanish (a hang-up for whoever has them open).
    public func stop() {
        lock.withLock { running = false }
        while !lock.withLock({ finished }) && thread != nil { usleep(2_000) }
    }

    public var messagesProcessed: UInt64 { lock.withLock { firmware.processed } }
    public var droppedQueueFull: UInt64 { lock.withLock { firmware.droppedQueueFull } }

    private func main() {
        defer { lock.withLock { finished = true } }
        let bootDeadline = clock.now() &+ config.bootTime.nanoseconds
        while clock.now() < bootDeadline {
            guard lock.withLock({ running }) else { return }
            usleep(2_000)
        }
        let tty: PseudoTerminal
        let serial: PseudoTerminal
        do {
            tty = try PseudoTerminal()
            serial = try PseudoTerminal()
            serial.makeRaw()
        } catch {
            FileHandle.standardError.write(Data("simulated board: \(error)\n".utf8))
            return
        }
        if let dir = linkDirectory {
            for (name, target) in [("ttyRPMSG30", tty.slavePath), ("ttyM7UART", serial.slavePath)] {
                let path = "\(dir)/\(name)"
                unlink(path)
                symlink(target, path)
            }
        }
        lock.withLock {
            rpmsg = tty
            uart = serial
        }
        defer {
            lock.withLock {
                tty.close()
                serial.close()
                rpmsg = nil
                uart = nil
            }
            if let dir = linkDirectory {
                unlink("\(dir)/ttyRPMSG30")
                unlink("\(dir)/ttyM7UART")
            }
        }
        emit(firmware.boot(), tty: tty, uart: serial)

        var readBuffer = [UInt8](repeating: 0, count: 4096)
        var pendingEcho: [UInt8] = []
        while lock.withLock({ running }) {
            let now = clock.now()
            var timeout: UInt64 = 20_000_000
            if let due = lock.withLock({ firmware.nextDue }) {
                timeout = due > now ? min(timeout, due - now) : 0
            }
            let ready = tty.wait(forWrite: !pendingEcho.isEmpty, timeout: timeout)
            if ready.readable {
                let n = tty.readAvailable(into: &readBuffer)
                if n > 0 { lock.withLock { firmware.receive(readBuffer[0..<n]) } }
            }
            let outputs = lock.withLock { firmware.service(now: clock.now()) }
            for o in outputs {
                switch o {
                case .uart(let text): _ = serial.writeSome(ArraySlice(text.utf8))
                case .echo(let bytes): pendingEcho.append(contentsOf: bytes)
                }
            }
            if !pendingEcho.isEmpty {
                let n = tty.writeSome(pendingEcho[...])
                pendingEcho.removeFirst(n)
            }
        }
    }

    private func emit(_ outputs: [EchoFirmware.Output], tty: PseudoTerminal, uart: PseudoTerminal) {
        for o in outputs {
            switch o {
            case .uart(let text): _ = uart.writeSome(ArraySlice(text.utf8))
            case .echo(let bytes): _ = tty.writeSome(bytes[...])
            }
        }
    }
}
