import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("TimelineWriter and TimelineReader")
struct TimelineFileTests {
    func write(_ events: [Event]) throws -> String {
        let path = try Fixture.temporaryDirectory() + "/events.jsonl"
        let writer = try TimelineWriter(path: path)
        for e in events { writer.emit(e) }
        writer.sync()
        return path
    }

    func append(_ text: String, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    @Test("what is written reads back equal, one JSON object per line")
    func roundTrip() throws {
        let events = Fixture.run()
        let path = try write(events)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == events.count + 1)
        #expect(lines.last == "")
        #expect(lines.first?.contains("\"type\":\"run_start\"") == true)
        #expect(lines.last(where: { !$0.isEmpty })?.contains("\"type\":\"run_end\"") == true)

        let (read, warnings) = try TimelineReader.read(path: path)
        #expect(warnings.isEmpty)
        #expect(read == events)
        let summary = try SummaryBuilder.build(events: read, warnings: warnings)
        #expect(summary.verdict == .passed)
    }

    @Test("a second writer appends to the same timeline")
    func appends() throws {
        let events = Fixture.run()
        let path = try write(Array(events.prefix(3)))
        let writer = try TimelineWriter(path: path)
        for e in events.dropFirst(3) { writer.emit(e) }
        #expect(try TimelineReader.read(path: path).events == events)
    }

    @Test("a torn last line is skipped with a warning")
    func tornLastLine() throws {
        let events = Fixture.run(end: nil)
        let path = try write(events)
        try append("{\"t\":21.5,\"wall\":\"2025-06-1", to: path)
        let (read, warnings) = try TimelineReader.read(path: path)
        #expect(read == events)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(":\(events.count + 1):") == true, "\(warnings)")
        #expect(warnings.first?.contains("incomplete") == true)

        let s = try SummaryBuilder.build(events: read, warnings: warnings)
        #expect(s.verdict == .incomplete)
        #expect(s.warnings.count == 2)
    }

    @Test("a broken line in the middle is an error naming its line")
    func brokenMiddleLine() throws {
        let events = Fixture.run()
        let path = try Fixture.temporaryDirectory() + "/events.jsonl"
        let writer = try TimelineWriter(path: path)
        writer.emit(events[0])
        writer.emit(events[1])
        try append("{\"t\":3,\"wall\":\"x\",\"type\":\"no_such_event\"}\n", to: path)
        for e in events.dropFirst(2) { writer.emit(e) }

        do {
            _ = try TimelineReader.read(path: path)
            Issue.record("a broken line 3 was accepted")
        } catch {
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("\(path):3: "), "\(error.description)")
        }
    }

    @Test("a missing or empty timeline is an error")
    func missingOrEmpty() throws {
        let dir = try Fixture.temporaryDirectory()
        #expect(throws: TimelineReader.Failure.self) { try TimelineReader.read(path: dir + "/nothing.jsonl") }
        _ = FileManager.default.createFile(atPath: dir + "/empty.jsonl", contents: Data())
        #expect(throws: TimelineReader.Failure.self) { try TimelineReader.read(path: dir + "/empty.jsonl") }
    }

    @Test("RunFolder writes summary.json, junit.xml and report.txt from the timeline")
    func runFolder() throws {
        let path = try write(Fixture.run())
        let dir = (path as NSString).deletingLastPathComponent
        let summary = try RunFolder.writeReports(directory: dir)
        #expect(summary.verdict == .passed)
        for name in ["summary.json", "junit.xml", "report.txt"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(name)"), "\(name)")
        }
        let json = try String(contentsOfFile: "\(dir)/summary.json", encoding: .utf8)
        #expect(json.contains("\"verdict\" : \"passed\""))
        #expect(json.contains("\"schema\" : \"rpmsg-soak/summary/1\""))
        let report = try String(contentsOfFile: "\(dir)/report.txt", encoding: .utf8)
        #expect(report.hasPrefix("rpmsg-soak smoke on sim: PASSED"))
    }
}
