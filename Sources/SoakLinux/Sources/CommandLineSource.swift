import Foundation
import Glibc
import SoakCore

/// The M7 UART read from a command's output: `telnet localhost 7001` to a serial server, LAVA's
/// `LAVA_CONNECTION_COMMAND`, `exec cat /dev/ttyUSB2`, any farm's console command. The command
/// runs with /bin/sh -c (in a process group of its own, the tester's environment) with a socket
/// pair as its stdin and stdout: stdin never gives EOF, so `telnet` stays connected; nothing is
/// ever written to it. Its stderr goes to a private file, whose last line explains an ending.
///
/// The output is polled every 100 ms (so `stop()` is prompt), each read stamped with
/// MonotonicClock.read() right after it returns, telnet commands (IAC sequences) dropped by
/// `TelnetFilter`, and lines split by `LineSplitter`.
///
/// Notices: `.opened("command '...' (process N)")` once the command is up: its first output, or
/// 1 s alive without output (a connected console whose M7 is quiet). When the command ends (a
/// power cycle may end the serial server's connection) the partial line is delivered, one
/// `.lost` says how it ended, and it is started again every `restartInterval` (1 s) until it is
/// up again: a command that keeps failing at once gives that one `.lost`, not one a second.
public final class CommandLineSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .uart
    /// The shell command line.
    public let command: String
    /// For notices: the command, or where it came from (`$LAVA_CONNECTION_COMMAND (telnet ...)`).
    public let label: String
    public let maxLineLength: Int

    /// How long after the command ended it is started again.
    public static let restartInterval: UInt64 = 1_000_000_000
    /// A command alive this long without output is up (a console with nothing to say).
    static let upAfter: UInt64 = 1_000_000_000

    private let reader = ReaderSlot()

    public init(command: String, label: String? = nil, maxLineLength: Int = LineSplitter.defaultMaxLength) {
        self.command = command
        self.label = label ?? "command '\(command)'"
        self.maxLineLength = maxLineLength
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "uart \(label)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended and the command's process group is killed and reaped.
    public func stop() {
        reader.stop()
    }

    // MARK: - The reader thread

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var directory = Array("/tmp/rpmsg-soak-console-XXXXXX".utf8CString)
        let errorPath: String? = directory.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) + "/stderr" }
        defer {
            if let errorPath {
                unlink(errorPath)
                rmdir((errorPath as NSString).deletingLastPathComponent)
            }
        }
        var splitter = LineSplitter(source: .uart, maxLength: maxLineLength)
        var lostNoticed = false
        while !t.isStopping {
            let ending = session(t, sink, &splitter, errorPath: errorPath, opened: { lostNoticed = false })
            guard let why = ending else { return }
            if !lostNoticed {
                sink.notice(.uart, .lost("\(label): \(why); started again every \(Self.restartInterval / 1_000_000_000) s"), at: MonotonicClock.read())
                lostNoticed = true
            }
            if !t.sleep(Self.restartInterval) { return }
        }
    }

    /// One run of the command: nil when asked to stop, else how it ended.
    private func session(_ t: ReaderThread, _ sink: LineSink, _ splitter: inout LineSplitter,
                         errorPath: String?, opened: () -> Void) -> String? {
        let ends: (FileDescriptor, FileDescriptor)
        do { ends = try FileDescriptor.socketPair() } catch { return "socketpair: \(error)" }
        let socket = ends.0
        defer { socket.close() }
        let child: ChildProcess
        do {
            child = try ChildProcess("/bin/sh", ["-c", command], stdin: .descriptor(ends.1), stdout: .descriptor(ends.1),
                                     stderr: errorPath.map { .file($0) } ?? .null)
            ends.1.close()
        } catch {
            ends.1.close()
            return "cannot start /bin/sh: \(ErrorText.describe(error))"
        }
        defer { child.killGroupAndReap() }
        let started = MonotonicClock.read()
        var up = false
        var telnet = TelnetFilter()
        splitter.reset()
        func goUp(at: UInt64) {
            guard !up else { return }
            up = true
            opened()
            sink.notice(.uart, .opened("\(label) (process \(child.pid))"), at: at)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }

        reading: while true {
            if t.isStopping {
                if let line = splitter.flush() { sink.line(line) }
                return nil
            }
            if !up, MonotonicClock.read() &- started >= Self.upAfter, child.poll() == nil { goUp(at: MonotonicClock.read()) }
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
                goUp(at: at)
                let data = telnet.filter(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                data.withUnsafeBytes { bytes in splitter.feed(bytes, at: at) { sink.line($0) } }
            }
        }

        // The output ended: the command is leaving. A moment (in slices, so stop() stays prompt) for its status.
        if let line = splitter.flush() { sink.line(line) }
        var end: ChildProcess.Termination?
        for _ in 0..<40 {
            end = child.wait(upTo: 50_000_000)
            if end != nil || t.isStopping { break }
        }
        if t.isStopping { return nil }
        let said = errorPath.flatMap(Self.lastLine(ofFile:)).map { ": \($0)" } ?? ""
        switch end {
        case .exited(let code)?: return "the command ended (exit status \(code)\(said))"
        case .signalled(let s)?: return "the command ended (signal \(s)\(said))"
        case nil: return "the command closed its output but did not end\(said); stopped"
        }
    }

    /// The last non-empty line of a small file (the command's stderr), at most 300 characters.
    static func lastLine(ofFile path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data.suffix(4096), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).last.map { String($0.trimmingCharacters(in: .whitespaces).prefix(300)) }
            .flatMap { $0.isEmpty ? nil : $0 }
    }
}
