import Glibc
import SoakCore

/// The board's kernel log read from a lab host, through the run's ssh connection (the link's
/// ControlMaster): one ssh session at a time runs `remoteCommand` on the board, whose output
/// comes back through a socket pair polled every 100 ms, each read stamped with
/// MonotonicClock.read() right after it returns. On the board only `sh`, `cat`, `tail`, `wc`
/// and `printf` run (busybox is enough).
///
/// - /dev/kmsg (a character device there): `cat` gives one record per line
///   (`PRI,SEQ,TS_US,FLAGS;text`, continuation lines starting with a space are ignored);
///   `KmsgResume` decides from the session's header (boot id, uptime) which are history or
///   already delivered. Sequence gaps between delivered records notice `.overrun(missed:)`;
///   `cat` ending with EPIPE (records overwritten) just reconnects.
/// - A regular file (the simulator's `kmsg`): `tail -c +N -f`, from its end at the first
///   session and right after the bytes already received at a reconnect. Lines in record format
///   become records, others plain text (level nil), as `KmsgFileSource` does.
///
/// Notices: `.opened("HOST:PATH over ssh")` at each session's header. The connection gone (ssh
/// exit status 255: the board powered off, the network down) notices one `.lost` and tries
/// again every second until ssh answers; a path missing on the board one `.lost` naming host and
/// path, tried again every 5 s. Permission denied or not permitted there notices
/// `.permissionDenied` and ends, as does a permanent ssh failure (a refused key, a host key that
/// does not match) with a `.lost`.
public final class SshKmsgSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .kernel
    public let connection: SshConnection
    /// The kernel log's path on the board.
    public let path: String

    private let reader = ReaderSlot()

    public init(connection: SshConnection, path: String = KernelLogConfig.sshDefaultPath) {
        self.connection = connection
        self.path = path
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "kmsg over ssh \(path)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended and the ssh session is killed and reaped (within about
    /// 150 ms).
    public func stop() {
        reader.stop()
    }

    /// How long a start of the master may take before this reader tries again (longer than
    /// ssh's ConnectTimeout: a master the link's opener is starting is not cut short).
    static let connectTimeout: UInt64 = 15_000_000_000
    static let retryAfterConnectionLoss: UInt64 = 1_000_000_000
    static let retryAfterMissingPath: UInt64 = 5_000_000_000

    /// What the board's shell runs for one session. `from`: the byte of a followed file to go on
    /// from, nil at the first session (the file's end). The header line comes first, then
    /// the log: `cat` of a character device, `tail -f` of a file.
    public static func remoteCommand(path: String, from: UInt64?) -> String {
        let f = from.map { "\($0)" } ?? "-1"
        let w = KmsgResume.headerWord
        return "K=\(SshConnection.shellQuoted(path)); F=\(f); "
            + "if [ -c \"$K\" ]; then read B </proc/sys/kernel/random/boot_id && read U I </proc/uptime || exit 70; "
            + "printf '\(w) device %s %s\\n' \"$B\" \"$U\"; exec cat \"$K\"; fi; "
            + "S=$(wc -c <\"$K\") || exit 66; S=$((S)); "
            + "if [ \"$F\" -lt 0 ]; then F=$S; elif [ \"$S\" -lt \"$F\" ]; then F=0; fi; "
            + "printf '\(w) file %s %s\\n' \"$S\" \"$F\"; exec tail -c +$((F+1)) -f \"$K\""
    }

    /// The kinds of trouble noticed once until the next session opens.
    private enum Outage: Equatable { case connection, missing, other }

    /// How one session ended.
    private enum Ending {
        case stopped
        /// Noticed already; the thread ends.
        case finished
        case retry(after: UInt64, outage: Outage?, notice: SourceNotice?)
    }

    /// What the thread keeps across sessions.
    private struct State {
        var resume = KmsgResume()
        var splitter = LineSplitter(source: .kernel)
        var lastWasRecord = false
        var noticed: Outage?
        var device = false
    }

    private var place: String { "\(connection.target.destination):\(path)" }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var state = State()
        while !t.isStopping {
            switch session(t, sink, &state) {
            case .stopped, .finished:
                return
            case .retry(let after, let outage, let notice):
                if let notice, outage == nil || outage != state.noticed {
                    sink.notice(.kernel, notice, at: MonotonicClock.read())
                }
                if outage != nil { state.noticed = outage }
                if !t.sleep(after) { return }
            }
        }
    }

    private func connectionLost(_ why: String) -> Ending {
        .retry(after: Self.retryAfterConnectionLoss, outage: .connection,
               notice: .lost("connection to the board lost (\(why)); reading the kernel log \(path) again when it answers"))
    }

    private func notWatched(_ why: String) -> SourceNotice {
        .lost("cannot read the kernel log \(path) on \(connection.target.destination): \(why); the kernel log is not watched")
    }

    private func session(_ t: ReaderThread, _ sink: LineSink, _ state: inout State) -> Ending {
        do {
            try connection.startMaster(deadline: MonotonicClock.read() &+ Self.connectTimeout, interrupted: { t.isStopping })
        } catch {
            if t.isStopping { return .stopped }
            if SshConnection.isPermanent(error.reason) {
                sink.notice(.kernel, notWatched(error.reason), at: MonotonicClock.read())
                return .finished
            }
            return connectionLost(error.reason)
        }
        let errorPath = connection.nextSessionPath()
        defer { unlink(errorPath) }
        let ends: (FileDescriptor, FileDescriptor)
        do { ends = try FileDescriptor.socketPair() } catch {
            return .retry(after: Self.retryAfterMissingPath, outage: .other, notice: .lost("socketpair: \(error); the kernel log is read again in 5 s"))
        }
        let socket = ends.0
        defer { socket.close() }
        let child: ChildProcess
        do {
            child = try ChildProcess(SshConnection.ssh, connection.arguments(remote: Self.remoteCommand(path: path, from: state.resume.fileOffset)),
                                     stdin: .null, stdout: .descriptor(ends.1), stderr: .file(errorPath))
            ends.1.close()
        } catch {
            ends.1.close()
            return .retry(after: Self.retryAfterMissingPath, outage: .other,
                          notice: .lost("cannot start \(SshConnection.ssh): \(ErrorText.describe(error)); the kernel log is read again in 5 s"))
        }

        var header: [UInt8] = []
        var headerDone = false
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }

        func deliver(_ line: SourceLine) {
            if line.text.first == " " && state.lastWasRecord { return }  // a continuation line
            guard let record = KmsgRecord.parse(line.text) else {
                state.lastWasRecord = false
                sink.line(line)  // plain text, cleaned by the splitter; level nil
                return
            }
            state.lastWasRecord = true
            if state.device {
                switch state.resume.decide(seq: record.seq, micros: record.micros, at: line.at) {
                case .skip: return
                case .deliver(let missed):
                    if missed > 0 { sink.notice(.kernel, .overrun(missed: missed), at: line.at) }
                }
            }
            sink.line(record.line(at: line.at))
        }

        /// The bytes after the header: the log.
        func feed(_ bytes: UnsafeRawBufferPointer, at: UInt64) {
            guard !bytes.isEmpty else { return }
            if !state.device { state.resume.received(bytes.count) }
            state.splitter.feed(bytes, at: at, deliver)
        }

        /// The session's first line: what the board's shell found at the path.
        func opened(_ line: String, at: UInt64) -> Bool {
            guard let h = KmsgResume.parseHeader(line) else { return false }
            var note = ""
            switch h {
            case .device(let boot, let uptime):
                if state.resume.connected(bootID: boot, uptimeMicros: uptime, at: at) { note = " (the board rebooted: its new log from the start)" }
                state.device = true
                state.splitter.reset()
                state.lastWasRecord = false
            case .file(_, let from):
                // Going on where the last session stopped keeps its partial line.
                if state.resume.connected(fileFrom: from) || state.device {
                    state.splitter.reset()
                    state.lastWasRecord = false
                }
                state.device = false
            }
            state.noticed = nil
            sink.notice(.kernel, .opened("\(place) over ssh\(note)"), at: at)
            return true
        }

        reading: while true {
            if t.isStopping {
                child.killAndReap()
                if let line = state.splitter.flush() { deliver(line) }
                return .stopped
            }
            guard let events = try? socket.poll(for: .readable, timeout: 100_000_000), !events.isEmpty else { continue }
            // Drain what is there (bounded, so a flood cannot keep stop() waiting).
            for _ in 0..<64 {
                let n: Int
                do { n = try socket.receiveNow(into: buffer) } catch {
                    if error == .wouldBlock { continue reading }
                    break reading
                }
                let at = MonotonicClock.read()
                if n == 0 { break reading }
                var bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                if !headerDone {
                    let newline = bytes.firstIndex(of: UInt8(ascii: "\n"))
                    header += bytes[bytes.startIndex..<(newline ?? bytes.endIndex)]
                    if header.count > 1024 {
                        child.killAndReap()
                        return .retry(after: Self.retryAfterMissingPath, outage: .other,
                                      notice: .lost("unexpected answer from \(connection.target.destination) for the kernel log \(path); trying again every 5 s"))
                    }
                    guard let newline else { continue }
                    let text = String(decoding: header, as: UTF8.self)
                    guard opened(text, at: at) else {
                        child.killAndReap()
                        return .retry(after: Self.retryAfterMissingPath, outage: .other,
                                      notice: .lost("unexpected answer from \(connection.target.destination) for the kernel log \(path): '\(text.prefix(200))'; trying again every 5 s"))
                    }
                    headerDone = true
                    bytes = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
                }
                feed(bytes, at: at)
            }
        }

        // The output ended: ssh is leaving. A moment (in slices, so stop() stays prompt) for its status.
        var end: ChildProcess.Termination?
        for _ in 0..<40 {
            end = child.wait(upTo: 50_000_000)
            if end != nil || t.isStopping { break }
        }
        if end == nil { child.killAndReap() }
        if t.isStopping { return .stopped }
        let said = SshConnection.lastLine(ofFile: errorPath)
        let saidText = said.map { ": \($0)" } ?? ""
        switch end {
        case .exited(255)?:
            if let said, SshConnection.isPermanent(said) {
                sink.notice(.kernel, notWatched(said), at: MonotonicClock.read())
                return .finished
            }
            return connectionLost("ssh exit status 255\(saidText)")
        case .signalled(let s)?:
            return connectionLost("ssh ended by signal \(s)\(saidText)")
        case nil:
            return connectionLost("ssh closed its output but did not end\(saidText)")
        case .exited(let code)?:
            let message = said ?? "status \(code)"
            if message.contains("Permission denied") || message.contains("Operation not permitted") {
                sink.notice(.kernel, .permissionDenied("cannot read \(path) on \(connection.target.destination): \(message); "
                                                       + "set kernel.dmesg_restrict=0 on the board or log in as root; the kernel log is not watched"),
                            at: MonotonicClock.read())
                return .finished
            }
            if message.contains("No such file") || message.contains("nonexistent directory") {
                return .retry(after: Self.retryAfterMissingPath, outage: .missing,
                              notice: .lost("cannot read \(path) on \(connection.target.destination): \(message); trying again every 5 s"))
            }
            if headerDone && state.device && message.contains("Broken pipe") {
                // `cat` lost its place in the ring (records overwritten): read again; the gap tells.
                return .retry(after: 100_000_000, outage: nil, notice: nil)
            }
            return .retry(after: Self.retryAfterConnectionLoss, outage: .other,
                          notice: .lost("the kernel log reader on \(connection.target.destination) ended (status \(code)\(saidText)); reading \(path) again"))
        }
    }
}
