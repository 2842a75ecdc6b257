import Foundation
import Testing

/// CI tracks each JUnit case from run to run: two runs of the smoke profile on the simulated
/// board, with other seeds (so other sizes, bursts and timings), must name the same cases; each
/// file must be valid and read by a real JUnit consumer (junitparser, from .test-venv).
@Suite struct JUnitStableNamesTests {
    static let smokePhases = ["ping-pong", "window", "bursts", "sweep"]
    /// Every smoke phase asks for a rate (bursts: 10 a second), so each has a rate case.
    static let names = ["run.completes"] + smokePhases.flatMap { ["\($0).integrity", "\($0).latency", "\($0).rate"] }
        + ["link.hangs", "link.hangups", "findings.kernel", "findings.firmware", "run.min_echoed"]

    static func caseNames(_ xml: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: #"<testcase classname="rpmsg-soak\.smoke" name="([^"]*)""#)
        return regex.matches(in: xml, range: NSRange(xml.startIndex..., in: xml)).map { String(xml[Range($0.range(at: 1), in: xml)!]) }
    }

    @Test func twoSmokeRunsWithOtherSeedsHaveTheSameJUnitCaseNamesAndJunitparserReadsThem() async throws {
        let smoke = Harness.packageRoot.appendingPathComponent("profiles/smoke.yaml").path
        let (outA, outB) = (Harness.tempDir(), Harness.tempDir())
        async let a = Harness.run(["run", smoke, "--out", outA, "--seed", "5", "--quiet"])
        async let b = Harness.run(["run", smoke, "--out", outB, "--seed", "6", "--quiet"])
        let runs = try await [a, b]
        var seen: [[String]] = []
        for r in runs {
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
            let file = "\(try #require(r.runFolder))/junit.xml"
            #expect(try Harness.junitSchemaProblem(file) == nil)
            let xml = try String(contentsOfFile: file, encoding: .utf8)
            let names = try Self.caseNames(xml)
            // The simulated M7 prints its banner at boot: the first line of the firmware, a property.
            #expect(xml.contains(#"<property name="firmware_banner" value="RPMSG String Echo FreeRTOS RTOS API Demo..."/>"#))
            seen.append(names)
            if Harness.hasJunitparser {
                let p = try Harness.junitparser(file)
                #expect(p.status == 0, "\(p.output)")
                let lines = p.output.split(separator: "\n").map(String.init)
                #expect(lines.first == "suite rpmsg-soak.smoke tests=\(Self.names.count) failures=0 errors=0 skipped=0", "\(p.output)")
                #expect(Array(lines.dropFirst()) == Self.names.map { "case \($0) passed" }, "\(p.output)")
            }
        }
        #expect(seen.count == 2 && seen[0] == seen[1])
        #expect(seen.first == Self.names)
    }
}
