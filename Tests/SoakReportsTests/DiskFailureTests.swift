import Foundation
import Glibc
import Testing
@testable import SoakCore
@testable import SoakReports

/// What the run leaves when the disk fills or fails (issue 13): said at once in plain words,
/// the timeline kept in memory within bounds, the reports complete at the end.
@Suite("Full or failing disk: timeline, logs, reports")
struct DiskFailureTests {
    final class Said: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    @Test("stand-in for a full disk (/dev/full): the first failed write is said once with file and errno text; every event is kept in memory")
    func devFullTimelineStandIn() throws {
        let said = Said()
        let writer = try TimelineWriter(path: "/dev/full", syncInterval: nil, warn: { said.add($0) })
        let events = Fixture.run()
        for e in events { writer.emit(e) }
        writer.close()
        #expect(said.all.count == 1, "\(said.all)")
        #expect(said.all.first?.hasPrefix("cannot write /dev/full: No space left on device; the soak goes on") == true, "\(said.all)")
        let lost = try #require(writer.lost)
        #expect(lost.failure.errno == ENOSPC)
        #expect(lost.failure.reason == "No space left on device")
        #expect(lost.notWritten == events.count)
        #expect(lost.dropped == 0 && lost.merged == 0)
        // Every event, and a warning on the timeline at the moment of the failure.
        #expect(lost.kept.filter { $0.type != .warning } == events)
        #expect(lost.kept[1].type == .warning && lost.kept[1].message?.contains("No space left on device") == true)
    }

    @Test("the disk filled mid-run: the reports are built from the file and memory, say what was lost, and the file is completed")
    func reportsFromFileAndMemory() throws {
        let dir = try Fixture.temporaryDirectory()
        let path = "\(dir)/events.jsonl"
        let events = Fixture.run()
        let writer = try TimelineWriter(path: path, syncInterval: nil)
        for e in events.prefix(3) { writer.emit(e) }
        writer.close()
        let failure = TimelineWriter.WriteFailure(atSeconds: 10, errno: ENOSPC, reason: "No space left on device")
        let lost = TimelineWriter.Loss(failure: failure, kept: Array(events.dropFirst(3)), notWritten: events.count - 3, dropped: 0, merged: 0)

        let summary = try RunFolder.writeReports(directory: dir, lost: lost)
        let whole = try SummaryBuilder.build(events: events)
        #expect(summary.verdict == whole.verdict)
        #expect(summary.totals == whole.totals)
        #expect(summary.latencyMicros?.count == whole.latencyMicros?.count && summary.latencyMicros?.p99 == whole.latencyMicros?.p99)
        let warning = try #require(summary.warnings.first { $0.contains("could not be written") })
        #expect(warning.hasPrefix("4 events could not be written to events.jsonl: No space left on device (from 10.0 s on)"), "\(warning)")
        #expect(warning.contains("completed from memory"), "\(warning)")
        let text = try String(contentsOfFile: "\(dir)/report.txt", encoding: .utf8)
        #expect(text.contains("4 events could not be written to events.jsonl: No space left on device"), "\(text)")
        // `rpmsg-soak report` later reads the completed file: the same numbers.
        let again = try RunFolder.read(directory: dir).summary
        #expect(again.totals == whole.totals && again.warnings == summary.warnings)
    }

    @Test("memory kept within bounds: interval snapshots merged with exact totals and latencies, findings beyond the bound counted as dropped")
    func keptEventsBounded() throws {
        var kept = KeptEvents()
        kept.keep(Fixture.runStart())
        kept.keep(Fixture.phaseStart(0, 0, "steady"))
        let n = 3000
        for i in 1...n {
            kept.keep(Fixture.interval(Double(i), phase: "steady", totals: Fixture.counters(sent: UInt64(i * 10), echoed: UInt64(i * 10)),
                                       latency: [(UInt64(400 + i % 7), 10)]))
        }
        for i in 0..<(KeptEvents.maxFindings + 5) {
            var f = Fixture.event(Double(n) + 0.5, .finding, "f\(i)")
            f.finding = Finding(rule: "r", findingClass: "c", severity: .warning, action: .record, source: .uart, explanation: "e", line: "t", details: nil)
            kept.keep(f)
        }
        kept.keep(Fixture.runEnd(Double(n + 1), .completed, totals: Fixture.counters(sent: UInt64(n * 10), echoed: UInt64(n * 10))))
        let intervals = kept.events.filter { $0.type == .interval }
        #expect(intervals.count <= KeptEvents.maxIntervals)
        #expect(kept.merged == n - intervals.count)
        #expect(kept.dropped == 5)
        #expect(kept.events.first?.type == .runStart && kept.events.last?.type == .runEnd)
        let s = try SummaryBuilder.build(events: kept.events)
        #expect(s.totals.echoed == UInt64(n * 10))
        #expect(s.latencyMicros?.count == UInt64(n * 10), "every latency of every merged snapshot is still there")
        #expect(intervals.reduce(0.0) { $0 + ($1.interval?.seconds ?? 0) } == Double(n) * 10, "merged snapshots cover the time of both")
    }

    @Test("stand-in for a full disk (/dev/full): uart.log counts the lines it could not write and says so once")
    func devFullLineLogStandIn() {
        let said = Said()
        let log = LineLog(path: "/dev/full", startMono: 0, warn: { said.add($0) })
        for i in 0..<50 { log.append(note: "line \(i)", at: UInt64(i)) }
        #expect(said.all.count == 1)
        #expect(said.all.first?.hasPrefix("cannot write /dev/full: No space left on device") == true, "\(said.all)")
        #expect(log.failures?.count == 50)
        #expect(log.failures?.reason == "No space left on device")
        let fine = LineLog(path: (try? Fixture.temporaryDirectory()).map { "\($0)/uart.log" } ?? "/tmp/x", startMono: 0)
        fine.append(note: "ok", at: 1)
        #expect(fine.failures == nil)
    }

    @Test("errors in plain words: never NSCocoaErrorDomain or a Foundation dump")
    func plainWords() {
        #expect(ErrorText.reason(CocoaError(.fileWriteOutOfSpace)) == "No space left on device")
        #expect(ErrorText.reason(POSIXError(.ENOSPC)) == "No space left on device")
        #expect(ErrorText.reason(NSError(domain: NSPOSIXErrorDomain, code: Int(EIO))) == "Input/output error")
        do {
            try Data("x".utf8).write(to: URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/summary.json"), options: .atomic)
            Issue.record("the write succeeded")
        } catch {
            let text = ErrorText.cannot("write", "summary.json", error)
            #expect(text.hasPrefix("cannot write summary.json: "), "\(text)")
            #expect(!text.contains("Domain") && !text.contains("Code=") && !text.contains("NSCocoa"), "\(text)")
        }
        // A program that cannot be started (ssh, labgrid-client, a setup command).
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/ssh")
        do {
            try p.run()
            Issue.record("started")
        } catch {
            let text = ErrorText.describe(error)
            #expect(text.contains("No such file or directory"), "\(text)")
            #expect(!text.contains("Domain") && !text.contains("Code=") && !text.contains("NSCocoa"), "\(text)")
        }
        // The tool's own errors keep their own words.
        #expect(ErrorText.reason(TimelineOpenError(path: "p", reason: "Permission denied")) == "cannot create p: Permission denied")
    }

    @Test("report files that cannot be written: one plain line each, the others written, the summary still built")
    func reportFilesNotWritten() throws {
        let dir = try Fixture.temporaryDirectory()
        let writer = try TimelineWriter(path: "\(dir)/events.jsonl", syncInterval: nil)
        for e in Fixture.run() { writer.emit(e) }
        writer.close()
        // A folder where a report goes: the rename over it fails.
        for name in ["summary.json", "report.md"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)/x", withIntermediateDirectories: true)
        }
        do {
            _ = try RunFolder.writeReports(directory: dir)
            Issue.record("no error")
        } catch let e as RunFolder.FilesNotWritten {
            #expect(e.summary.verdict == .passed)
            #expect(e.problems.count == 2, "\(e.problems)")
            #expect(e.problems.first?.hasPrefix("cannot write \(dir)/summary.json: ") == true, "\(e.problems)")
            #expect(e.problems.last?.hasPrefix("cannot write \(dir)/report.md: ") == true, "\(e.problems)")
            for p in e.problems { #expect(!p.contains("Domain") && !p.contains("Code=") && !p.contains("\n"), "\(p)") }
            for name in ["junit.xml", "report.txt", "report.html"] {
                #expect(FileManager.default.fileExists(atPath: "\(dir)/\(name)"), "\(name)")
            }
        }
    }

    @Test("the sync thread stops on close; what was emitted is in the file")
    func syncThreadCloses() throws {
        let dir = try Fixture.temporaryDirectory()
        let writer = try TimelineWriter(path: "\(dir)/events.jsonl", syncInterval: .milliseconds(100))
        for e in Fixture.run() { writer.emit(e) }
        writer.close()
        writer.emit(Fixture.event(99, .warning, "after close: ignored"))
        #expect(try TimelineReader.read(path: "\(dir)/events.jsonl").events == Fixture.run())
    }

    @Test("run folder names: a safe form of the profile name, never escaping --out, never empty")
    func safeNames() {
        #expect(RunFolder.safeName("smoke") == "smoke")
        #expect(RunFolder.safeName("fw-2.1_rc3") == "fw-2.1_rc3")
        #expect(RunFolder.safeName("../../escaped") == "escaped")
        #expect(RunFolder.safeName("x\u{0}y") == "x_y")
        #expect(RunFolder.safeName("night run / bench 3") == "night_run_bench_3")
        #expect(RunFolder.safeName("a..b") == "a_b")
        #expect(RunFolder.safeName("..") == "run")
        #expect(RunFolder.safeName("") == "run")
        #expect(RunFolder.safeName("/") == "run")
        #expect(RunFolder.safeName("-rf") == "rf")
        #expect(RunFolder.safeName("über") == "ber")
        #expect(RunFolder.safeName(String(repeating: "a", count: 300)).count == 100)
        for name in ["../../escaped", "..", "a/../../b", ".hidden", "x\u{0}y"] {
            let safe = RunFolder.safeName(name)
            #expect(!safe.contains("/") && !safe.contains("..") && !safe.hasPrefix(".") && !safe.isEmpty, "\(name) -> \(safe)")
        }
    }
}
