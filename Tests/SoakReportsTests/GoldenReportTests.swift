import Foundation
import Testing
@testable import SoakReports

/// Every report rebuilt from an old timeline must stay byte for byte what the released binary
/// wrote for it, so a refactor of the formats cannot change what a user or a CI gate reads.
///
/// Each folder under Fixtures/golden holds a real run's `events.jsonl` and the reports that
/// `rpmsg-soak report` of commit 425ea08 wrote for it (`profile.yaml`, `board.yaml`: how the run
/// was made). No normalisation is needed: every report is a function of the timeline alone (the
/// host name, wall times and tool version come from its run_start event, not from this machine
/// or this moment).
@Suite("Golden reports")
struct GoldenReportTests {
    static let reports = ["summary.json", "junit.xml", "report.txt", "report.md", "report.html"]

    static var goldenRoot: String {
        get throws {
            guard let root = Bundle.module.path(forResource: "golden", ofType: nil, inDirectory: "Fixtures") else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "Fixtures/golden is not in the test bundle"])
            }
            return root
        }
    }

    static let runs = ["faults-recovered", "passing-downsampled"]

    @Test("the reports of an old timeline are unchanged", arguments: runs)
    func reportsAreUnchanged(run: String) throws {
        let golden = "\(try Self.goldenRoot)/\(run)"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(run)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(golden)/\(RunFolder.timelineName)", toPath: "\(dir)/\(RunFolder.timelineName)")

        _ = try RunFolder.writeReports(directory: dir)

        for name in Self.reports {
            let expected = try Data(contentsOf: URL(fileURLWithPath: "\(golden)/\(name)"))
            let actual = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))
            #expect(actual == expected, "\(run)/\(name) differs: \(Self.firstDifference(expected, actual))")
        }
    }

    @Test("every golden folder is tested")
    func everyFolderIsListed() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: try Self.goldenRoot).sorted()
        #expect(folders == Self.runs.sorted())
    }

    /// The first line that differs, both ways, so a failure says where to look in a 170 kB page.
    static func firstDifference(_ expected: Data, _ actual: Data) -> String {
        let a = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let b = String(decoding: actual, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<end of file>"
            let y = i < b.count ? String(b[i]) : "<end of file>"
            if x != y {
                // SVG lines run to thousands of characters: show the neighbourhood of the first differing one.
                let column = zip(x, y).prefix { $0 == $1 }.count
                let from = max(0, column - 80)
                func near(_ s: String) -> String { String(s.dropFirst(from).prefix(240)) }
                return "line \(i + 1), column \(column + 1)\n  golden: \(near(x))\n  now:    \(near(y))"
            }
        }
        return "same lines, different bytes"
    }
}

/// A finding class is explained once in every report, not once per finding: the golden run has
/// thirteen kick timeouts.
struct FindingExplainedOnceTests {
    @Test func everyReportOfAKickTimeoutRunDecodesTheMinus62OnceAndSaysWhatToDoNext() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("explained-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let golden = "\(try GoldenReportTests.goldenRoot)/faults-recovered"
        try FileManager.default.copyItem(atPath: "\(golden)/\(RunFolder.timelineName)", toPath: "\(dir)/\(RunFolder.timelineName)")
        let summary = try RunFolder.writeReports(directory: dir)
        #expect(summary.findingCounts["mailbox-kick-timeout"] == 13)
        for name in ["report.txt", "report.md", "report.html", "junit.xml"] {
            let text = try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8)
            #expect(text.components(separatedBy: "-62 is -ETIME").count - 1 == 1, "\(name): the decoded -62 once")
            #expect(text.contains("mcore") && text.contains("remoteproc-restart when Linux loaded"), "\(name): what to do next")
        }
    }
}
