import Foundation
import Glibc
import SoakCore
import SoakLinux
import Testing

/// The kernel log: the /dev/kmsg record format, the real /dev/kmsg (as root), and a followed
/// file in the same format (the simulator's kernel log).
struct KmsgTests {
    // MARK: Record format

    @Test func parsesARecordWithContinuationLines() throws {
        let raw = "6,1234,5678901,-;imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)\n"
            + " SUBSYSTEM=platform\n DEVICE=+platform:imx8mp-cm7\n"
        let record = try #require(KmsgRecord.parse(Array(raw.utf8)))
        #expect(record.prio == 6 && record.level == 6 && record.facility == 0)
        #expect(record.seq == 1234)
        #expect(record.micros == 5_678_901)
        #expect(record.flags == "-")
        #expect(record.message == "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)")
        #expect(record.properties == ["SUBSYSTEM": "platform", "DEVICE": "+platform:imx8mp-cm7"])

        let line = record.line(at: 42)
        #expect(line == SourceLine(source: .kernel, at: 42, text: record.message, level: 6, facility: 0,
                                   kernelSeq: 1234, kernelMicros: 5_678_901))
        #expect(Array(raw.utf8).withUnsafeBytes { KmsgRecord.parse($0, at: 42) } == line)
    }

    @Test func levelAndFacilityOfAUserSpaceLine() throws {
        // `<3>text` written to /dev/kmsg from user space reads back as prio 11.
        let record = try #require(KmsgRecord.parse("11,99,1,-;rpmsg-soak-test hello"))
        #expect(record.level == 3)
        #expect(record.facility == 1)
        let emerg = try #require(KmsgRecord.parse("0,1,1,c;Kernel panic - not syncing"))
        #expect(emerg.level == 0 && emerg.facility == 0 && emerg.flags == "c")
    }

    @Test func extraHeaderFieldsAndEscapes() throws {
        let record = try #require(KmsgRecord.parse(
            "4,17,300,-,caller=T1;name \\x5c path\\x0anext\\x09tab \\xc3\\xa9 \\x1b bad \\xZZ;semi\n"))
        #expect(record.flags == "-,caller=T1")
        #expect(record.message == "name \\ path next\ttab é \u{FFFD} bad \\xZZ;semi")
    }

    @Test func textNotInRecordFormatIsNotARecord() {
        #expect(KmsgRecord.parse("hello; world") == nil)
        #expect(KmsgRecord.parse("1,2,3;too few fields") == nil)
        #expect(KmsgRecord.parse("a,2,3,-;not a number") == nil)
        #expect(KmsgRecord.parse("") == nil)
        #expect(KmsgRecord.parse("99999999999999999999999,1,1,-;overflow") == nil)
    }

    @Test func sequenceGapsCountMissedRecords() {
        var s = KmsgSequence()
        #expect(s.observe(100) == 0, "the first record")
        #expect(s.observe(101) == 0)
        #expect(s.observe(105) == 3, "102, 103, 104 were overwritten")
        #expect(s.observe(106) == 0)
        #expect(s.observe(3) == 0, "backwards: restart, not a gap")
        #expect(s.last == 3)
    }

    // MARK: The real /dev/kmsg

    @Test(.enabled(if: getuid() == 0, "needs root to read and write /dev/kmsg"))
    func aLineInjectedIntoTheRealKernelLogIsRead() throws {
        let source = KmsgSource()  // /dev/kmsg, from the end
        let got = Collected()
        let tag = UUID().uuidString
        try #require(injectKmsg("<3>rpmsg-soak-test \(tag) history line"), "write to /dev/kmsg")
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { $0.notices.contains(.opened("/dev/kmsg")) })

        let text = "rpmsg-soak-test \(tag) imx_rproc_kick: failed (1, err:-62)"
        try #require(injectKmsg("<3>\(text)"))
        try #require(got.waitFor { $0.texts().contains(text) }, "the injected record is read")
        let line = try #require(got.lines.first { $0.text == text })
        #expect(line.source == .kernel)
        #expect(line.level == 3)
        #expect(line.facility == 1, "user space")
        #expect(line.kernelSeq != nil && line.kernelMicros != nil)
        #expect(!got.texts().contains { $0.contains("\(tag) history line") }, "history before the start is skipped")
        #expect(!got.notices.contains { $0.isOverrun }, "no overrun while reading promptly")

        let stopStart = MonotonicClock.read()
        source.stop()
        #expect(MonotonicClock.read() - stopStart < 1_000_000_000)
    }

    /// Floods the machine's real kernel log (several MiB of debug-level records), so it only
    /// runs when asked: RPMSG_SOAK_KMSG_FLOOD=1, as root.
    @Test(.enabled(if: getuid() == 0 && ProcessInfo.processInfo.environment["RPMSG_SOAK_KMSG_FLOOD"] == "1",
                   "floods the real kernel log: set RPMSG_SOAK_KMSG_FLOOD=1 and run as root"))
    func aReaderThatFallsBehindReportsTheOverrun() throws {
        let tag = UUID().uuidString
        let sink = GatedSink(blockOn: "rpmsg-soak-test \(tag) marker")
        let got = Collected(inbox: sink.inbox)
        let source = KmsgSource()
        source.start(into: sink)
        defer { source.stop() }
        try #require(got.waitFor { $0.notices.contains(.opened("/dev/kmsg")) })
        try #require(injectKmsg("<7>rpmsg-soak-test \(tag) marker"))
        try #require(sink.entered.wait(timeout: .now() + 5) == .success, "the reader is held in the sink")
        // The reader is stuck: overwrite the whole ring buffer behind its back.
        let filler = String(repeating: "x", count: 900)
        for i in 0..<5_000 { _ = injectKmsg("<7>rpmsg-soak-test \(tag) flood \(i) \(filler)") }
        sink.gate.signal()
        try #require(got.waitFor { $0.notices.contains { $0.isOverrun } }, "the overrun is reported")
        guard case .overrun(let missed) = got.notices.first(where: { $0.isOverrun }) else { return }
        #expect(missed > 0, "the records lost are counted from the sequence gap")
        try #require(got.waitFor { $0.texts().contains { $0.contains("\(tag) flood 4999 ") } }, "reading goes on")
    }

    @Test(.enabled(if: access("/sys/bus/platform/drivers_probe", F_OK) == 0,
                   "needs a write-only sysfs attribute to get a real EACCES"))
    func permissionDeniedIsAClearNoticeNotACrash() throws {
        // kernfs refuses to open a write-only attribute for reading with EACCES, even for root.
        let path = "/sys/bus/platform/drivers_probe"
        let source = KmsgSource(path: path)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        #expect(got.notices == [.permissionDenied(
            "cannot read \(path): Permission denied (EACCES); run as root or set kernel.dmesg_restrict=0; the kernel log is not watched")])
        #expect(KmsgSource.failureText(path: "/dev/kmsg", errno: EPERM).contains("(EPERM); run as root"))
    }

    @Test func aMissingPathOrADirectoryIsAClearNoticeNotACrash() throws {
        let dir = TempDir()
        defer { dir.remove() }
        for (path, errnoName) in [(dir.file("no-kmsg"), "ENOENT"), (dir.path, "EISDIR")] {
            let source = KmsgSource(path: path)
            let got = Collected()
            source.start(into: got.inbox)
            try #require(got.waitFor { !$0.notices.isEmpty })
            let notice = try #require(got.notices.first)
            #expect(notice.isLost)
            #expect(notice.text.hasPrefix("cannot read \(path): "))
            #expect(notice.text.contains(errnoName) && notice.text.hasSuffix("the kernel log is not watched"),
                    "\(notice.text)")
            source.stop()
            #expect(got.refresh().notices.count == 1 && got.lines.isEmpty)
        }
    }

    // MARK: A followed file

    @Test func recordsAppendedToAFileArrive() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("kmsg")
        append("6,0,10,-;remoteproc remoteproc0: imx-rproc is available\n", to: path)
        let source = KmsgFileSource(path: path)  // from the start
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { $0.lines.count == 1 })
        #expect(got.notices.first == .opened(path))

        append("3,4,66410,-;imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)\n", to: path)
        append(" SUBSYSTEM=platform\n", to: path)
        append("plain text line\n", to: path)
        append("6,5,66500,-;half a rec", to: path)
        try #require(got.waitFor { $0.lines.count == 3 })
        usleep(120_000)
        #expect(got.refresh().lines.count == 3, "a partial line waits for its newline")
        append("ord\n", to: path)
        try #require(got.waitFor { $0.lines.count == 4 })

        let lines = got.lines
        #expect(lines[0].text == "remoteproc remoteproc0: imx-rproc is available" && lines[0].level == 6)
        #expect(lines[1] == SourceLine(source: .kernel, at: lines[1].at,
                                       text: "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)",
                                       level: 3, facility: 0, kernelSeq: 4, kernelMicros: 66410))
        #expect(lines[2] == SourceLine(source: .kernel, at: lines[2].at, text: "plain text line"),
                "not in record format: plain text, level nil; the continuation line is skipped")
        #expect(lines[3].text == "half a record" && lines[3].kernelSeq == 5)
        #expect(lines.map(\.at) == lines.map(\.at).sorted())
    }

    @Test func aFileCreatedAfterTheStartIsPickedUp() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("kmsg")
        let source = KmsgFileSource(path: path, fromStart: false)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        usleep(150_000)
        #expect(got.refresh().items.isEmpty, "waiting quietly for the file")
        append("6,0,1,-;remoteproc remoteproc0: powering up imx-rproc\n", to: path)
        try #require(got.waitFor { $0.lines.count == 1 }, "a new file is read from its start")
        #expect(got.notices == [.opened(path)])
        #expect(got.lines[0].text == "remoteproc remoteproc0: powering up imx-rproc")
    }

    @Test func aFileMissingTooLongIsNoticedOnce() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("kmsg")
        let source = KmsgFileSource(path: path, missingNoticeAfter: 100_000_000)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        #expect(got.notices == [.lost("\(path) does not exist (yet); waiting for it")])
        usleep(200_000)
        #expect(got.refresh().notices.count == 1)
    }

    @Test func startingAtTheEndSkipsWhatIsThere() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("kmsg")
        append("6,0,1,-;old record\n", to: path)
        let source = KmsgFileSource(path: path, fromStart: false)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { $0.notices.contains(.opened(path)) })
        append("6,1,2,-;new record\n", to: path)
        try #require(got.waitFor { $0.lines.count == 1 })
        #expect(got.texts() == ["new record"])
    }

    @Test func truncationAndReplacementStartOverFromTheTop() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("kmsg")
        append("6,0,1,-;first run record one with some length to it\n6,1,2,-;first run record two\n", to: path)
        let source = KmsgFileSource(path: path)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { $0.lines.count == 2 })

        // Truncated in place (O_TRUNC), then a shorter new beginning.
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        close(fd)
        usleep(120_000)
        append("6,0,1,-;second run\n", to: path)
        try #require(got.waitFor { $0.texts().last == "second run" }, "read again from the start")
        #expect(got.lines.count == 3)

        // Replaced by another file (rename over it): the new file is read from its start.
        let next = dir.file("kmsg.next")
        append("6,0,1,-;third run one\n6,1,2,-;third run two\n", to: next)
        append("6,1,2,-;second run tail\n", to: path)
        #expect(rename(next, path) == 0)
        try #require(got.waitFor { $0.texts().last == "third run two" })
        #expect(got.texts().suffix(3) == ["second run tail", "third run one", "third run two"],
                "the old file is read to its end before the new one")
        #expect(got.count(of: { $0 == .opened(path) }) == 3, "opened, truncated, replaced")
    }
}

/// Writes one line into the real kernel log with a fresh fd (the 10-lines-per-5-s limit is
/// per open file).
private func injectKmsg(_ line: String) -> Bool {
    let fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array((line + "\n").utf8)
    return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
}

/// A sink that holds the reader thread on the line containing `blockOn` until `gate` is
/// signalled: a reader that has fallen behind.
private final class GatedSink: LineSink, @unchecked Sendable {
    let inbox = LineInbox()
    let gate = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)
    private let blockOn: String
    private let lock = NSLock()
    private var held = false

    init(blockOn: String) { self.blockOn = blockOn }

    func line(_ line: SourceLine) {
        inbox.line(line)
        guard line.text.contains(blockOn), lock.withLock({ () -> Bool in defer { held = true }; return !held }) else { return }
        entered.signal()
        gate.wait()
    }

    func notice(_ source: SourceLine.Source, _ notice: SourceNotice, at: UInt64) {
        inbox.notice(source, notice, at: at)
    }
}
