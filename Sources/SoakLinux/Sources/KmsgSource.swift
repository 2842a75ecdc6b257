import Foundation
import Glibc
import SoakCore

/// The kernel log read from /dev/kmsg (or `path`) on its own thread.
///
/// open(2) O_RDONLY|O_NONBLOCK|O_CLOEXEC; unless `fromStart`, lseek(fd, 0, SEEK_END) skips the
/// history. Then ppoll (100 ms) and one read(2) per record into a 16 KiB buffer, stamped with
/// MonotonicClock.read() right after the read returns. EPIPE from read (records overwritten)
/// and sequence gaps give one `.overrun(missed:)` (missed = the gap in sequence numbers, 0 when
/// it cannot be known). Notices `.opened(path)` once open.
///
/// Open failing with EACCES or EPERM notices `.permissionDenied("cannot read /dev/kmsg:
/// Permission denied (EACCES); run as root or set kernel.dmesg_restrict=0; the kernel log is
/// not watched")`; any other open or read failure (ENOENT, a directory: EISDIR) notices
/// `.lost("cannot read …: …; the kernel log is not watched")`. Either way the thread ends; it
/// does not retry (/dev/kmsg does not come back). A non-record read (not /dev/kmsg) is
/// delivered as plain text with level nil.
public final class KmsgSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .kernel
    public let path: String
    public let fromStart: Bool

    private let reader = ReaderSlot()

    public init(path: String = "/dev/kmsg", fromStart: Bool = false) {
        self.path = path
        self.fromStart = fromStart
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "kmsg \(path)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended (within about 100 ms).
    public func stop() {
        reader.stop()
    }

    /// The text of the notice for an open or read failure with errno `e`.
    public static func failureText(path: String, errno e: Int32) -> String {
        var text = "cannot read \(path): \(describeErrno(e))"
        if e == EACCES || e == EPERM { text += "; run as root or set kernel.dmesg_restrict=0" }
        return text + "; the kernel log is not watched"
    }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
        } catch {
            let text = Self.failureText(path: path, errno: error.rawValue)
            sink.notice(.kernel, error == .permissionDenied || error == .notPermitted ? .permissionDenied(text) : .lost(text),
                        at: MonotonicClock.read())
            return
        }
        defer { fd.close() }
        if let st = try? fd.status(), st.st_mode & S_IFMT == S_IFDIR {
            sink.notice(.kernel, .lost(Self.failureText(path: path, errno: EISDIR)), at: MonotonicClock.read())
            return
        }
        if !fromStart { _ = try? fd.seek(from: .end) }
        sink.notice(.kernel, .opened(path), at: MonotonicClock.read())

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        var sequence = KmsgSequence()
        var overwritten = false
        while !t.isStopping {
            guard let events = try? fd.poll(for: .readable, timeout: 100_000_000), !events.isEmpty else { continue }
            // Drain what is there (bounded, so a flood cannot keep stop() waiting).
            for _ in 0..<256 {
                let n: Int
                do {
                    n = try fd.read(into: buffer)
                } catch {
                    let at = MonotonicClock.read()
                    if error == .wouldBlock { break }
                    if error == .brokenPipe {
                        overwritten = true
                        if sequence.last == nil {
                            sink.notice(.kernel, .overrun(missed: 0), at: at)
                            overwritten = false
                        }
                        continue
                    }
                    sink.notice(.kernel, .lost(Self.failureText(path: path, errno: error.rawValue)), at: at)
                    return
                }
                let at = MonotonicClock.read()
                if n > 0 {
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                    guard let record = KmsgRecord.parse(bytes) else {
                        sink.line(KmsgRecord.plainLine(bytes, at: at))
                        continue
                    }
                    let missed = sequence.observe(record.seq)
                    if missed > 0 || overwritten {
                        sink.notice(.kernel, .overrun(missed: missed), at: at)
                        overwritten = false
                    }
                    sink.line(record.line(at: at))
                    continue
                }
                // Not /dev/kmsg (a regular file at its end): wait.
                if !t.sleep(100_000_000) { return }
                break
            }
        }
    }
}

// MARK: - A file in kmsg format

/// A kernel log kept in a growing file, one record per line in the /dev/kmsg format
/// (`3,4,66410,-;imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)`), as the simulator
/// writes it; a line not in record format is taken as plain text (level nil), and a line that
/// starts with a space right after a record is its continuation (ignored, as in /dev/kmsg).
///
/// Polls every `pollInterval` (50 ms): reads what was appended (lines split by LineSplitter, a
/// partial last line waits for its newline), stamped with MonotonicClock.read() after the read.
/// Starts at the beginning (default: the simulator makes the file fresh per run) or, with
/// `fromStart: false`, at the end of a file that exists at start (a file that appears later is
/// read from its beginning). A file that does not exist yet is waited for (a `.lost`
/// notice only if it is still missing after `missingNoticeAfter`); `.opened(path)` each time it
/// is opened. A replaced file (another inode at the path) is read to its end, then the new one
/// is read from its start; a truncated file (smaller than what was read) is read again from its
/// start (both notice `.opened(path)`). No sequence-gap detection: such files are often
/// filtered. EACCES/EPERM on open notices `.permissionDenied` and ends the thread.
public final class KmsgFileSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .kernel
    public let path: String
    public let fromStart: Bool
    public let pollInterval: UInt64
    public let missingNoticeAfter: UInt64

    private let reader = ReaderSlot()

    public init(path: String, fromStart: Bool = true, pollInterval: UInt64 = 50_000_000,
                missingNoticeAfter: UInt64 = 2_000_000_000) {
        self.path = path
        self.fromStart = fromStart
        self.pollInterval = pollInterval
        self.missingNoticeAfter = missingNoticeAfter
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "kmsg file \(path)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended (within about `pollInterval`); a partial last line is
    /// delivered first.
    public func stop() {
        reader.stop()
    }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var splitter = LineSplitter(source: .kernel)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var fd: FileDescriptor?
        var identity: (dev: UInt64, ino: UInt64)?
        var firstOpen = true
        var missingReported = false
        let waitingSince = MonotonicClock.read()
        var lastWasRecord = false

        func deliver(_ line: SourceLine) {
            if line.text.first == " " && lastWasRecord { return }  // a continuation line
            if let record = KmsgRecord.parse(line.text) {
                lastWasRecord = true
                sink.line(record.line(at: line.at))
            } else {
                lastWasRecord = false
                sink.line(line)  // plain text, already cleaned by the splitter; level nil
            }
        }
        func drain() {
            guard let fd else { return }
            while !t.isStopping {
                guard let n = try? fd.read(into: buffer), n > 0 else { return }
                let at = MonotonicClock.read()
                splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: at, deliver)
            }
        }
        func endOfFile() {
            if let line = splitter.flush() { deliver(line) }
            lastWasRecord = false
        }
        defer {
            if let fd { endOfFile(); fd.close() }
        }

        while !t.isStopping {
            let file: FileDescriptor
            if let fd {
                file = fd
            } else {
                do {
                    file = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
                } catch {
                    if error == .permissionDenied || error == .notPermitted {
                        sink.notice(.kernel, .permissionDenied(KmsgSource.failureText(path: path, errno: error.rawValue)),
                                    at: MonotonicClock.read())
                        return
                    }
                    firstOpen = false  // it did not exist at start: when it comes, read it all
                    let now = MonotonicClock.read()
                    if !missingReported && now &- waitingSince >= missingNoticeAfter {
                        let why = error == .noSuchFileOrDirectory ? "\(path) does not exist (yet); waiting for it"
                                              : "cannot open \(path): \(error); retrying"
                        sink.notice(.kernel, .lost(why), at: now)
                        missingReported = true
                    }
                    if !t.sleep(pollInterval) { return }
                    continue
                }
                fd = file
                identity = (try? file.status()).map { (UInt64($0.st_dev), UInt64($0.st_ino)) }
                if firstOpen && !fromStart { _ = try? file.seek(from: .end) }
                firstOpen = false
                missingReported = false
                splitter.reset()
                lastWasRecord = false
                sink.notice(.kernel, .opened(path), at: MonotonicClock.read())
            }

            drain()

            // Truncated: what we read is longer than the file now.
            if let st = try? file.status(), let position = try? file.seek(from: .current), Int64(st.st_size) < position {
                _ = try? file.seek(from: .start)
                splitter.reset()
                lastWasRecord = false
                sink.notice(.kernel, .opened(path), at: MonotonicClock.read())
                continue
            }
            // Replaced: another file at the path now (the old one has been read to its end).
            var now = stat()
            if stat(path, &now) == 0, let id = identity,
               UInt64(now.st_dev) != id.dev || UInt64(now.st_ino) != id.ino {
                endOfFile()
                file.close()
                fd = nil
                continue
            }
            if !t.sleep(pollInterval) { return }
        }
    }
}
