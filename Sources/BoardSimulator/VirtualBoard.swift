import SoakCore

/// The simulated i.MX8M Plus in memory, on a virtual clock: the same `EchoFirmware` and fault
/// models as the pty board, reached through an in-memory link, its UART lines and kernel
/// records delivered to the run's line sink stamped with virtual time, its power input a power
/// switch, its remoteproc a remote core. Nothing sleeps: time moves only when the run waits
/// (on the link, or through the board as its `Waiter`), straight to the next thing the board
/// does. A 12-hour night of faults runs in seconds, the same for the same seed.
///
/// It shows what a pty cannot (DOMAIN.md): on the board a write() sleeps in the driver while
/// the mailbox times out (100 ms per message once the M7 stopped servicing it); here the
/// write returns only when virtual time has moved past those timeouts, while the UART and the
/// kernel log go on being delivered.
///
/// One thread only: the run's. Not for use across threads.
public final class VirtualBoard: Waiter, PowerSwitch, RemoteCore, LinkOpener, @unchecked Sendable {
    public let clock: ManualClock
    public let config: SimulatorConfig
    public let seed: UInt64
    public let name = "virtual sim"
    public var description: String { "virtual ttyRPMSG30" }

    private var sink: LineSink?
    private var firmware: EchoFirmware?
    private var extraFaults: [FaultModel]
    private var powered = true
    private var bootAt: UInt64?
    private var ttyBackAt: UInt64?
    /// Bumped whenever the tty goes away: a link of an older generation is hung up.
    private var ttyGeneration = 0
    private var ttyPresent = false
    private var m7Stopped = false
    /// Echoed bytes waiting to be read by the current link.
    private var readable: [UInt8] = []
    private var readHead = 0
    /// Lines were delivered since the last wait began: a wait returns so the run takes them.
    private var delivered = false

    public private(set) var powerCycles = 0
    public private(set) var restarts = 0
    public private(set) var kickFailures: UInt64 = 0
    public private(set) var messagesProcessed: UInt64 = 0
    /// Every fault that struck, with its virtual time.
    public private(set) var faults: [(kind: FaultSpec.Kind, at: UInt64)] = []
    /// The longest a single write was held in the driver.
    public private(set) var longestWrite: UInt64 = 0

    public init(config: SimulatorConfig, seed: UInt64 = 1, clock: ManualClock = ManualClock(), faults: [FaultModel] = []) {
        self.config = config
        self.seed = seed
        self.clock = clock
        extraFaults = faults
    }

    /// Starts delivering lines to `sink` and powers the board on (it boots after its boot time).
    public func start(delivering sink: LineSink?) {
        self.sink = sink
        sink?.notice(.uart, .opened("virtual M7 UART"), at: clock.now())
        sink?.notice(.kernel, .opened("virtual kernel log"), at: clock.now())
        bootAt = clock.now() &+ config.bootTime.nanoseconds
        runDue()
    }

    public var isBooted: Bool { firmware != nil }
    public var mode: EchoFirmware.Mode? { firmware?.mode }

    // MARK: time

    /// The next moment the board does something on its own.
    private var nextEvent: UInt64? {
        var t = firmware?.nextDue
        if let b = bootAt { t = min(t ?? b, b) }
        if let b = ttyBackAt { t = min(t ?? b, b) }
        return t
    }

    /// Moves time to `target`, event by event. Stops early, after an event that delivered a
    /// line or made the link readable, when `early` is set.
    private func advance(to target: UInt64, early: Bool) {
        var guardTurns = 0
        while true {
            if early && (delivered || readHead < readable.count) { return }
            guard let next = nextEvent, next <= target else {
                clock.advance(to: target)
                return
            }
            clock.advance(to: next)
            let before = clock.now()
            runDue()
            // A model that says "due now" but does nothing would spin: move on by 1 µs.
            guardTurns = clock.now() == before && nextEvent.map { $0 <= before } == true ? guardTurns + 1 : 0
            if guardTurns > 1000 { clock.advance(1_000) }
        }
    }

    /// Does everything that is due now.
    private func runDue() {
        let now = clock.now()
        if let b = bootAt, now >= b, powered, !m7Stopped { boot(now: now) }
        if let b = ttyBackAt, now >= b, firmware != nil {
            ttyBackAt = nil
            ttyPresent = true
            handle(EchoFirmware.ttyBack(), now: now)
        }
        if var fw = firmware {
            let out = fw.service(now: now)
            firmware = fw
            handle(out, now: now)
        }
    }

    public func wait(until deadline: UInt64) {
        delivered = false
        advance(to: max(deadline, clock.now()), early: true)
    }

    // MARK: the firmware's outputs

    private func handle(_ outputs: [EchoFirmware.Output], now: UInt64) {
        for o in outputs {
            switch o {
            case .uart(let text):
                // The firmware prints whole CR LF lines of printable text: what the UART
                // reader's LineSplitter would make of them, without its byte-by-byte cost.
                for piece in text.utf8.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
                    sink?.line(SourceLine(source: .uart, at: now, text: String(decoding: piece, as: UTF8.self)))
                    delivered = true
                }
            case .echo(let bytes):
                if ttyPresent { readable.append(contentsOf: bytes) }
            case .kernel(let level, let text):
                if text == EchoFirmware.kickFailure { kickFailures += 1 }
                sink?.line(SourceLine(source: .kernel, at: now, text: text, level: level, facility: 0))
                delivered = true
            case .stall:
                break  // taken by the write that caused it
            case .hangup(let down):
                dropTty()
                ttyBackAt = now &+ down
            }
        }
    }

    private func boot(now: UInt64) {
        bootAt = nil
        var cycleSeed = seed ^ (UInt64(powerCycles) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(restarts) &* 0xD1B5_4A32_D192_ED03)
        var fw = EchoFirmware(uartBaud: config.uartBaud, heartbeat: config.heartbeat, faults: config.faults,
                              seed: SplitMix64.next(&cycleSeed), powerOnAt: now)
        fw.faults = extraFaults
        firmware = fw
        ttyPresent = !config.ttyNeedsModprobe
        handle(fw.boot(ttyDriverLoaded: ttyPresent), now: now)
    }

    private func retire() {
        if let fw = firmware {
            messagesProcessed += fw.processed
            faults += fw.faultLog
        }
        firmware = nil
        dropTty()
    }

    private func dropTty() {
        ttyPresent = false
        ttyGeneration += 1
        readable.removeAll(keepingCapacity: true)
        readHead = 0
    }

    // MARK: power (PowerSwitch)

    public func on() throws(RecoveryFailure) {
        guard !powered else { return }
        powered = true
        m7Stopped = false
        bootAt = clock.now() &+ config.bootTime.nanoseconds
        sink?.notice(.uart, .opened("virtual M7 UART"), at: clock.now())
    }

    public func off() throws(RecoveryFailure) {
        guard powered else { return }
        powered = false
        if firmware != nil { powerCycles += 1 }
        retire()
        bootAt = nil
        ttyBackAt = nil
        sink?.notice(.uart, .lost("virtual M7 UART: the board is off"), at: clock.now())
    }

    // MARK: remoteproc (RemoteCore)

    public func unavailable() -> String? {
        config.m7StartedByBootLoader
            ? "the M7 was started by the boot loader (remoteproc state 'attached'): Linux did not load its firmware and cannot restart it"
            : nil
    }

    public func restart(interrupted: @escaping () -> Bool) throws(RecoveryFailure) {
        if let why = unavailable() { throw RecoveryFailure(why) }
        guard powered else { throw RecoveryFailure("remoteproc: the board is off") }
        let now = clock.now()
        retire()
        sink?.line(SourceLine(source: .kernel, at: now, text: "remoteproc remoteproc0: stopped remote processor imx-rproc", level: 6, facility: 0))
        restarts += 1
        bootAt = now &+ config.bootTime.nanoseconds
    }

    // MARK: the link (LinkOpener)

    public func open(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) -> Link {
        let deadline = clock.now() &+ timeout.nanoseconds
        while !ttyPresent {
            if interrupted() { throw LinkOpenError(device: description, reason: "interrupted") }
            guard clock.now() < deadline else {
                throw LinkOpenError(device: description, reason: "did not come back within \(timeout)")
            }
            advance(to: deadline, early: false, until: { self.ttyPresent })
        }
        return VirtualLink(board: self, generation: ttyGeneration)
    }

    private func advance(to target: UInt64, early: Bool, until done: () -> Bool) {
        while !done() && clock.now() < target {
            guard let next = nextEvent, next <= target else { clock.advance(to: target); return }
            clock.advance(to: next)
            runDue()
        }
    }

    fileprivate func isCurrent(_ generation: Int) -> Bool { ttyPresent && generation == ttyGeneration }

    fileprivate func linkRead(_ generation: Int, into buffer: UnsafeMutableRawBufferPointer) -> LinkIO {
        guard isCurrent(generation) else { return .hangup("end of file (the virtual tty went away)") }
        let n = min(buffer.count, readable.count - readHead)
        guard n > 0 else { return .wouldBlock }
        readable.withUnsafeBytes { src in
            buffer.baseAddress?.copyMemory(from: src.baseAddress! + readHead, byteCount: n)
        }
        readHead += n
        if readHead == readable.count {
            readable.removeAll(keepingCapacity: true)
            readHead = 0
        }
        return .done(count: n, at: clock.now())
    }

    fileprivate func linkWrite(_ generation: Int, _ bytes: UnsafeRawBufferPointer) -> LinkIO {
        guard isCurrent(generation), var fw = firmware else { return .hangup("write failed: the virtual tty went away") }
        let start = clock.now()
        let out = fw.receive(ArraySlice(bytes.bindMemory(to: UInt8.self)), now: start)
        firmware = fw
        // Linux sits in the mailbox inside this write: every kick times out in turn.
        var at = start
        for o in out {
            advance(to: at, early: false)
            if case .stall(let ns) = o { at &+= ns } else { handle([o], now: clock.now()) }
        }
        advance(to: at, early: false)
        longestWrite = max(longestWrite, at &- start)
        return .done(count: bytes.count, at: clock.now())
    }

    fileprivate func linkWait(_ generation: Int, timeout: UInt64) -> LinkReadiness {
        delivered = false
        if isCurrent(generation) && readHead >= readable.count && timeout > 0 {
            advance(to: clock.now() &+ timeout, early: true)
        }
        let gone = !isCurrent(generation)
        return LinkReadiness(readable: !gone && readHead < readable.count, writable: !gone, hangup: gone)
    }
}

/// The RPMsg tty of a `VirtualBoard`, as the run sees it.
final class VirtualLink: Link {
    let board: VirtualBoard
    let generation: Int
    private var closed = false
    var path: String { board.description }

    init(board: VirtualBoard, generation: Int) {
        self.board = board
        self.generation = generation
    }

    func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness {
        closed ? LinkReadiness(readable: false, writable: false, hangup: true) : board.linkWait(generation, timeout: timeout)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO {
        closed ? .failed("read on a closed link") : board.linkRead(generation, into: buffer)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO {
        closed ? .failed("write on a closed link") : board.linkWrite(generation, bytes)
    }

    func close() { closed = true }
}
