import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// What `rpmsg-soak run --lava` hands to `lava-test-case`: the JUnit cases one for one, then the
/// measurements (the calls themselves are proven with a stand-in in EndToEndTests/LavaStandInTests).
@Suite("LavaTestCases")
struct LavaTestCasesTests {
    @Test("names keep letters, digits, _ - . and turn everything else into _")
    func sanitised() {
        #expect(LavaTestCases.sanitised("link stays up for 12.000 s") == "link_stays_up_for_12.000_s")
        #expect(LavaTestCases.sanitised("window.integrity") == "window.integrity", "the JUnit names need no change")
        #expect(LavaTestCases.sanitised("latency_p99 <= 1s/µs") == "latency_p99____1s__s")
        #expect(LavaTestCases.sanitised("a-b_c.D9") == "a-b_c.D9")
    }

    @Test("one call per JUnit case with its result, then latency-p99 and messages-per-second")
    func passingRun() throws {
        let s = try SummaryBuilder.build(events: Fixture.run())
        let cases = JUnitReport.cases(s)
        let calls = LavaTestCases.calls(s)
        #expect(calls.count == cases.count + 2, "no mtbf without failures: \(calls)")
        for (call, c) in zip(calls, cases) {
            #expect(call == [LavaTestCases.sanitised(c.name), "--result", c.passed ? "pass" : "fail"])
        }
        #expect(calls.prefix(cases.count).map(\.[0]) == JUnitReportTests.fixtureCaseNames)
        let p99 = try #require(s.latencyMicros?.p99)
        #expect(calls[cases.count] == ["latency-p99", "--result", "pass", "--measurement", "\(p99)", "--units", "us"])
        #expect(calls[cases.count + 1].prefix(4) == ["messages-per-second", "--result", "pass", "--measurement"])
    }

    @Test("a failing criterion fails its case, as in junit.xml")
    func failingRun() throws {
        let totals = Fixture.counters(sent: 3_000, echoed: 2_990, lost: 10)
        let s = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .completed, totals: totals)))
        let failed = LavaTestCases.calls(s).filter { $0.contains("fail") }.map(\.[0])
        let junitFailed = JUnitReport.cases(s).filter { !$0.passed }.map { LavaTestCases.sanitised($0.name) }
        #expect(!failed.isEmpty && failed == junitFailed, "\(failed) vs \(junitFailed)")
        #expect(failed == ["steady.integrity"])
    }
}
