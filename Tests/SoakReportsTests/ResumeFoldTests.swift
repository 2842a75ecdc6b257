import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// `run --resume` reads the stopped run's timeline once, line by line, into where it stopped and
/// its live figures so far; what that holds does not grow with the run's length (issue 14: a run
/// resumed near the end of a 12-hour night must not hold its timeline). Counted, not measured,
/// as in `StreamingFoldTests`.
@Suite struct ResumeFoldTests {
    /// The fold of a night of `intervals` snapshots killed before its end (no run_end).
    static func fold(intervals: Int) -> ResumeFold {
        var fold = ResumeFold()
        StreamingFoldTests.night(intervals: intervals) { if $0.type != .runEnd { fold.add($0) } }
        return fold
    }

    @Test func retainedStateDoesNotGrowWithTheNight() throws {
        let short = Self.fold(intervals: 600)
        let long = Self.fold(intervals: 1_200)
        let (held, heldLong) = (StreamingFoldTests.retained(short), StreamingFoldTests.retained(long))
        #expect(heldLong == held, "the resume fold holds \(held) elements after 600 intervals, \(heldLong) after 1200")
        // It did fold them all: the point and the figures are those of the whole night.
        let point = try long.point.finish()
        #expect(point.stop == .crashed)
        #expect(point.counters.sent == 1_200_000 && point.countsAt == 12_000 && point.stoppedAt == 12_000)
        #expect(point.soakedInPhase == 12_000)
        let figures = long.seen.figures
        #expect(figures.totals.sent == 1_200_000 && figures.elapsed == 12_000)
        #expect(figures.findings["firmware-assert"] == 1_200 && figures.failureCount == 1 && figures.recovered == 1)
        #expect(figures.state == .running)
    }

    /// The killed run of `ResumeTests` written as a timeline file, with a torn last line.
    static func killedRunFile(_ events: [Event] = ResumeTests.killedRun(), torn: Bool = true) throws -> (dir: String, path: String) {
        let dir = try Fixture.temporaryDirectory()
        let path = "\(dir)/\(RunFolder.timelineName)"
        let writer = try TimelineWriter(path: path, syncInterval: nil)
        for e in events { writer.emit(e) }
        writer.close()
        if torn {
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.seekToEndOfFile()
            handle.write(Data("{\"t\":15,\"wall\":\"2026-".utf8))
            handle.closeFile()
        }
        return (dir, path)
    }

    @Test func theFileFoldGivesWhatTheEventsInMemoryGive() throws {
        let events = ResumeTests.killedRun()
        let (dir, path) = try Self.killedRunFile()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (point, seen) = try ResumeFold.read(path: path)
        #expect(point == (try ResumePoint(events: events)))
        for format in MetricsText.Format.allCases {
            #expect(MetricsText.render(seen.figures, format: format) == MetricsText.render(LiveFigures(events: events), format: format))
        }
        #expect(StatusLine.render(seen.figures) == StatusLine.render(LiveFigures(events: events)))
    }

    /// What `run --resume` prints after its folder for a timeline it cannot go on from.
    static func problem(_ path: String) -> String? {
        do { _ = try ResumeFold.read(path: path); return nil } catch { return "\(error)" }
    }

    @Test func aTimelineThatCannotBeResumedSaysWhy() throws {
        let finished = try Self.killedRunFile(Fixture.run(), torn: false)
        let noStart = try Self.killedRunFile(Array(ResumeTests.killedRun().dropFirst()))
        defer { for dir in [finished.dir, noStart.dir] { try? FileManager.default.removeItem(atPath: dir) } }
        #expect(Self.problem(finished.path) == "the run has ended (completed): there is nothing to resume")
        #expect(Self.problem(noStart.path) == "the timeline has no run_start event: it is not a run's timeline")
        #expect(Self.problem("\(finished.dir)/none.jsonl") == "\(finished.dir)/none.jsonl: cannot read the timeline (no such file?)")
        // A broken line before the last: the reader's error, with its line number.
        var text = try String(contentsOfFile: noStart.path, encoding: .utf8)
        text += "\n{}\n"
        try text.write(toFile: noStart.path, atomically: true, encoding: .utf8)
        #expect(Self.problem(noStart.path)?.hasPrefix("\(noStart.path):6: not a timeline event") == true, "\(Self.problem(noStart.path) ?? "")")
    }

    @Test func aTornLastLineIsDroppedReadingOnlyTheEndOfTheFile() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/\(RunFolder.timelineName)"
        func after(_ text: String) throws -> (dropped: Bool, left: String) {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            let dropped = RunFolder.dropTornLastLine(path: path)
            return (dropped, try String(contentsOfFile: path, encoding: .utf8))
        }
        #expect(try after("{\"a\":1}\n{\"b\":2}\n") == (false, "{\"a\":1}\n{\"b\":2}\n"))
        #expect(try after("{\"a\":1}\n{\"b\":2") == (true, "{\"a\":1}\n"))
        #expect(try after("{\"b\":2") == (true, ""))
        #expect(try after("") == (false, ""))
        // A torn line longer than the chunk read backwards at a time, and one ending on its edge.
        let long = String(repeating: "x", count: 150_000)
        #expect(try after("{\"a\":1}\n" + long) == (true, "{\"a\":1}\n"))
        let edge = String(repeating: "y", count: 65_535) + "\n" + String(repeating: "z", count: 65_536)
        #expect(try after(edge) == (true, String(repeating: "y", count: 65_535) + "\n"))
        #expect(!RunFolder.dropTornLastLine(path: "\(dir)/none.jsonl"))
    }
}
