import SoakCore

/// The NXP `rpmsg_lite_str_echo_rtos` firmware as seen from outside, with the Linux
/// `imx_rpmsg_tty` driver and the Messaging Unit in front of it. Pure logic over a clock:
/// bytes in; UART text, kernel log records and echoed bytes out, each at the time the real
/// board would produce them.
///
/// - The driver cuts every write into rpmsg messages of at most 256 bytes (a pty does not keep
///   write boundaries, so the model cuts the byte stream it receives).
/// - The firmware queue holds 256 messages; a message arriving when it is full is dropped silently.
/// - For each message the firmware prints `Get Message From Master Side : "<text>" [len : <n>]`
///   (text cut at the first NUL, as `%s` does) on a UART that costs 10 bit times per byte, and
///   echoes the bytes only after the print: the UART bounds the echo rate.
/// - Once the core stops servicing its MU interrupt (halted, or interrupt masked), every message
///   Linux sends costs the mailbox TX timeout (100 ms) and logs
///   `imx_rproc_kick: failed (1, err:-62)`; nothing but a power cycle clears it.
public struct EchoFirmware {
    public static let chunkSize = 256
    public static let queueCapacity = 256
    /// The mailbox client's TX timeout in current kernels (20 or 50 ms in older NXP trees).
    public static let mailboxTxTimeout: UInt64 = 100_000_000
    public static let bootBanner = "\r\nRPMSG String Echo FreeRTOS RTOS API Demo...\r\n"
    public static let nameserviceBanner = "Nameservice sent, ready for incoming messages...\r\n"
    public static let kickFailure = "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"
    public static let assertLine = "ASSERT ERROR \" len < 512 \": file \"main_remote.c\" Line \"215\" function name \"app_task\"\r\n"
    static let ttyDevice = "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30"

    public enum Output: Equatable, Sendable {
        case uart(String)
        case echo([UInt8])
        /// A kernel log record: syslog level (3 err, 4 warning, 6 info) and text.
        case kernel(level: Int, text: String)
        /// The tty goes away (driver removed) for this long, then comes back.
        case hangup(down: UInt64)
        /// Linux is blocked in the mailbox for this long: nothing more is taken from the tty.
        case stall(UInt64)
    }

    public enum Mode: Equatable, Sendable {
        case running
        /// The core stopped (assert, HardFault, clock gated): no prints, no MU service.
        case halted(FaultSpec.Kind)
        /// The core runs but does not service the MU interrupt.
        case stuck
    }

    public let uartBaud: Int
    public let heartbeat: UInt64?
    public private(set) var mode = Mode.running
    public private(set) var queue: [[UInt8]] = []
    public private(set) var droppedQueueFull: UInt64 = 0
    public private(set) var processed: UInt64 = 0
    public private(set) var kickFailures: UInt64 = 0
    /// Every fault that struck, with the board time it struck at.
    public private(set) var faultLog: [(kind: FaultSpec.Kind, at: UInt64)] = []
    public var halted: Bool { mode != .running }

    private var faultClock: FaultClock
    private let powerOnAt: UInt64
    private var byteState: UInt64
    private var busyUntil: UInt64?
    private var current: [UInt8]?
    private var currentDropped = false
    private var dropNext = false
    private var corruptNext = false
    private var holdUntil: UInt64 = 0
    private var held: [[UInt8]] = []
    private var nextHeartbeat: UInt64?
    private var heartbeats: UInt64 = 0
    /// Faults tests plug in directly (on top of the timed ones).
    public var faults: [FaultModel] = []

    public init(uartBaud: Int, heartbeat: SoakDuration? = nil, faults specs: [FaultSpec] = [], seed: UInt64 = 1, powerOnAt: UInt64 = 0) {
        self.uartBaud = uartBaud
        self.heartbeat = heartbeat?.nanoseconds
        self.powerOnAt = powerOnAt
        faultClock = FaultClock(specs: specs, seed: seed, powerOnAt: powerOnAt)
        byteState = seed ^ 0xC0FF_EE00_DEAD_BEEF
        nextHeartbeat = heartbeat.map { powerOnAt &+ $0.nanoseconds }
    }

    /// The banners the firmware prints when it starts, and what Linux logs as the channel comes up.
    public func boot(ttyDriverLoaded: Bool = true) -> [Output] {
        [.uart(Self.bootBanner), .uart(Self.nameserviceBanner), .kernel(level: 6, text: "virtio_rpmsg_bus virtio0: rpmsg host is online")]
            + (ttyDriverLoaded ? Self.channelUp : [])
    }

    static let channelUp: [Output] = [
        .kernel(level: 6, text: "\(ttyDevice): new channel: 0x400 -> 0x1e!"),
        .kernel(level: 6, text: "\(ttyDevice): Install rpmsg tty driver!"),
    ]
    public static let ttyDriverRemoved = "\(ttyDevice): rpmsg tty driver is removed"
    static let channelDown: [Output] = [.kernel(level: 6, text: ttyDriverRemoved)]

    /// What Linux logs when the tty comes back after a hang-up.
    public static func ttyBack() -> [Output] { channelUp }

    /// Bytes that Linux wrote to the tty, arriving at the M7 as rpmsg messages. Returns what
    /// the kernel side says about them (kick failures, the time Linux is stuck in the mailbox).
    public mutating func receive(_ bytes: ArraySlice<UInt8>, now: UInt64 = 0) -> [Output] {
        var out: [Output] = []
        var rest = bytes
        while !rest.isEmpty {
            let chunk = rest.prefix(Self.chunkSize)
            rest = rest.dropFirst(chunk.count)
            if mode != .running {
                // The doorbell is never answered: each message costs Linux the TX timeout.
                kickFailures += 1
                out.append(.kernel(level: 3, text: Self.kickFailure))
                out.append(.stall(Self.mailboxTxTimeout))
                continue
            }
            if queue.count >= Self.queueCapacity {
                droppedQueueFull += 1
            } else {
                queue.append(Array(chunk))
            }
        }
        return out
    }

    /// When `service` has something to do next; nil when idle.
    public var nextDue: UInt64? {
        // Called on every turn of a virtual board: no allocation.
        var t: UInt64?
        func consider(_ v: UInt64?) { if let v { t = min(t ?? v, v) } }
        if mode == .running {
            if let b = busyUntil { consider(b) } else if !queue.isEmpty { consider(0) }
            consider(faultClock.earliest)
            if !held.isEmpty { consider(holdUntil) }
        }
        if mode != .halted(.kickHalt) && mode != .halted(.assert) && mode != .halted(.hardfault) { consider(nextHeartbeat) }
        return t
    }

    /// Advances the firmware to `now`: strikes the faults that are due, finishes the message
    /// being printed (echoing it) and starts on the next ones.
    public mutating func service(now: UInt64) -> [Output] {
        var out: [Output] = []
        if let h = nextHeartbeat, now >= h, !isHaltedCore, let every = heartbeat {
            heartbeats += 1
            out.append(.uart("[M7] heartbeat \(heartbeats)\r\n"))
            nextHeartbeat = max(h &+ every, now)
        }
        if mode == .running {
            for fault in faultClock.due(now: now) where mode == .running {
                strike(fault, now: now, into: &out)
            }
        }
        if mode == .running && !held.isEmpty && now >= holdUntil {
            for m in held { out.append(.echo(m)) }
            held.removeAll()
        }
        while mode == .running {
            if let until = busyUntil {
                guard now >= until else { break }
                if var msg = current, !currentDropped {
                    if corruptNext && !msg.isEmpty {
                        corruptNext = false
                        let i = Int(SplitMix64.next(&byteState) % UInt64(msg.count))
                        msg[i] ^= UInt8(1 << (SplitMix64.next(&byteState) % 8))
                    }
                    if now < holdUntil || !held.isEmpty { held.append(msg) } else { out.append(.echo(msg)) }
                }
                current = nil
                busyUntil = nil
                continue
            }
            guard !queue.isEmpty else { break }
            var msg = queue.removeFirst()
            let index = processed
            processed += 1
            var action = FaultAction.pass
            for f in faults {
                action = f.onMessage(&msg, index: index, now: now)
                if action != .pass { break }
            }
            if case .halt(let line) = action {
                halt(.hardfault, now: now)
                if let line { out.append(.uart(line)) }
                break
            }
            let line = Self.uartLine(for: msg)
            out.append(.uart(line))
            current = msg
            currentDropped = action == .drop || dropNext
            dropNext = false
            busyUntil = now &+ printCost(bytes: line.utf8.count)
        }
        return out
    }

    private var isHaltedCore: Bool {
        if case .halted = mode { return true }
        return false
    }

    private mutating func halt(_ kind: FaultSpec.Kind, now: UInt64) {
        mode = kind == .kickAlive ? .stuck : .halted(kind)
        queue.removeAll()
        current = nil
        busyUntil = nil
        held.removeAll()
    }

    private mutating func strike(_ fault: FaultSpec, now: UInt64, into out: inout [Output]) {
        faultLog.append((fault.kind, now))
        switch fault.kind {
        case .kickHalt, .kickAlive, .hardfault:
            halt(fault.kind, now: now)
        case .assert:
            out.append(.uart(Self.assertLine))
            halt(.assert, now: now)
        case .drop:
            dropNext = true
        case .corrupt:
            corruptNext = true
        case .latency:
            holdUntil = max(holdUntil, now &+ fault.spike.nanoseconds)
        case .hangup:
            queue.removeAll()
            current = nil
            busyUntil = nil
            out.append(contentsOf: Self.channelDown)
            out.append(.hangup(down: fault.down.nanoseconds))
        }
    }

    /// Time the debug UART needs for `bytes` characters at 8N1 (10 bit times each).
    public func printCost(bytes: Int) -> UInt64 {
        uartBaud > 0 ? UInt64(bytes) * 10 * 1_000_000_000 / UInt64(uartBaud) : 0
    }

    /// The line the NXP example prints for one received message.
    public static func uartLine(for msg: [UInt8]) -> String {
        if msg == [0x0D, 0x0A] { return "Get New Line From Master Side\r\n" }
        let text = msg.prefix { $0 != 0 }
        return "Get Message From Master Side : \"\(String(decoding: text, as: UTF8.self))\" [len : \(msg.count)]\r\n"
    }
}
