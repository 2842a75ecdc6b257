import Foundation
import Testing
@testable import SoakCore

/// The exact test of two Poisson rates, and the gate: block.
@Suite struct RateComparisonTests {
    /// P(X >= k), X ~ Binomial(n, p), by summing the terms directly with exact binomial
    /// coefficients (products of small integers, no logarithms): independent of the code under test.
    static func directUpperTail(_ k: Int, _ n: Int, _ p: Double) -> Double {
        func choose(_ n: Int, _ k: Int) -> Double {
            var c = 1.0
            for i in 0..<k { c = c * Double(n - i) / Double(i + 1) }
            return c
        }
        return (k...max(k, n)).reduce(0.0) { $0 + ($1 <= n ? choose(n, $1) * pow(p, Double($1)) * pow(1 - p, Double(n - $1)) : 0) }
    }

    @Test("p-values of known counts match the directly summed binomial tail",
          arguments: [(1, 10.0, 0, 10.0), (3, 10.0, 0, 10.0), (5, 8.0, 1, 8.0), (7, 3600.0, 2, 7200.0),
                      (10, 1.0, 10, 1.0), (12, 5.0, 3, 20.0), (40, 100.0, 25, 100.0)])
    func exactTestMatchesDirectSum(current: Int, tc: Double, baseline: Int, tb: Double) {
        let p = RateComparison.pValue(current: UInt64(current), currentExposure: tc, baseline: UInt64(baseline), baselineExposure: tb)
        let expected = Self.directUpperTail(current, current + baseline, tc / (tc + tb))
        #expect(abs(p - expected) < 1e-9 * max(1, expected), "p \(p), direct \(expected)")
    }

    @Test func knownValues() {
        // 1 failure against 0 in equal time: P(X >= 1 | n = 1, p = 1/2) = 0.5. Not a regression.
        #expect(abs(RateComparison.pValue(current: 1, currentExposure: 3600, baseline: 0, baselineExposure: 3600) - 0.5) < 1e-12)
        // 5 against 0 in equal time: 1/32.
        #expect(abs(RateComparison.pValue(current: 5, currentExposure: 1, baseline: 0, baselineExposure: 1) - 1.0 / 32) < 1e-12)
        // 4 against 0: 1/16 = 0.0625, not below 0.05.
        #expect(abs(RateComparison.pValue(current: 4, currentExposure: 1, baseline: 0, baselineExposure: 1) - 0.0625) < 1e-12)
        // No failure now, or no exposure: nothing to say.
        #expect(RateComparison.pValue(current: 0, currentExposure: 1, baseline: 9, baselineExposure: 1) == 1)
        #expect(RateComparison.pValue(current: 3, currentExposure: 0, baseline: 0, baselineExposure: 1) == 1)
        // Fewer failures in more time is never a regression.
        #expect(RateComparison.pValue(current: 2, currentExposure: 100, baseline: 20, baselineExposure: 100) > 0.99)
    }

    @Test func largeCountsStayFiniteAndMatchTheNormalApproximation() {
        // 1200 against 1000 message errors in equal exposure: z = 200 / sqrt(2200) / ... one-sided ~ 1.0e-5.
        let p = RateComparison.pValue(current: 1200, currentExposure: 1e6, baseline: 1000, baselineExposure: 1e6)
        let z = (1200.0 - 1100) / (2200.0 * 0.25).squareRoot()
        let normal = 0.5 * erfc((z - 0.5 / (2200.0 * 0.25).squareRoot()) / 2.0.squareRoot())
        #expect(p > 0 && p < 1e-4)
        #expect(abs(p - normal) / normal < 0.25, "exact \(p), normal \(normal)")
    }
}

@Suite struct GateConfigTests {
    @Test func tolerancesParseWithTheirDirection() throws {
        #expect(try GateConfig.parseTolerance("+20%", worse: .up).get() == 20)
        #expect(try GateConfig.parseTolerance("+0.5%", worse: .up).get() == 0.5)
        #expect(try GateConfig.parseTolerance("-10%", worse: .down).get() == 10)
        #expect(try GateConfig.parseTolerance("off", worse: .up).get() == nil)
        for (bad, dir) in [("20%", GateConfig.Direction.up), ("-20%", .up), ("+10%", .down), ("+20", .up), ("+x%", .up), ("-100%", .down)] {
            #expect(throws: GateValueError.self, "\(bad)") { try GateConfig.parseTolerance(bad, worse: dir).get() }
        }
        #expect(try GateConfig.parseAlpha("p<0.05").get() == 0.05)
        #expect(try GateConfig.parseAlpha("p < 0.01").get() == 0.01)
        #expect(try GateConfig.parseAlpha("off").get() == nil)
        #expect(throws: GateValueError.self) { try GateConfig.parseAlpha("0.05").get() }
        #expect(throws: GateValueError.self) { try GateConfig.parseAlpha("p<0").get() }
        #expect(try GateConfig.parseFloor("250us").get() == 250)
        #expect(try GateConfig.parseFloor("1ms").get() == 1000)
        #expect(throws: GateValueError.self) { try GateConfig.parseFloor("250").get() }
    }

    static let base = "name: g\nphases:\n  - {duration: 1s, rate: 10, size: 64}\n"

    @Test func aGateBlockOverridesTheDefaultsKeyByKey() throws {
        let p = try ConfigLoader.parseProfile(text: Self.base + "gate:\n  latency_p99: +30%\n  messages_per_second: off\n  new_findings: warn\n  latency_floor: 1ms\n", file: "g.yaml")
        let g = try #require(p.gate)
        #expect(g.latencyP99 == 30 && g.messagesPerSecond == nil && g.newFindings == .warn && g.latencyFloorMicros == 1000)
        #expect(g.latencyMax == GateConfig.default.latencyMax && g.failureRateAlpha == 0.05 && g.latencyP50 == nil)
        #expect(try ConfigLoader.parseProfile(text: Self.base, file: "g.yaml").gate == nil)
        let flow = try ConfigLoader.parseProfile(text: Self.base + "gate: {latency_p99: +20%, latency_max: +50%, messages_per_second: -10%, failure_rate: p<0.05, new_findings: fail}\n", file: "g.yaml")
        #expect(flow.gate?.latencyMax == 50 && flow.gate?.messagesPerSecond == 10)
    }

    @Test("a bad gate value names file:line:column and key",
          arguments: [("gate:\n  latency_p99: 20%\n", 5, 16, "gate.latency_p99", "signed percentage"),
                      ("gate:\n  messages_per_second: +10%\n", 5, 24, "gate.messages_per_second", "expected -N%"),
                      ("gate:\n  failure_rate: 0.05\n", 5, 17, "gate.failure_rate", "p<0.05"),
                      ("gate:\n  new_findings: maybe\n", 5, 17, "gate.new_findings", "fail, warn or off"),
                      ("gate:\n  latency_p95: +20%\n", 5, 3, "gate.latency_p95", "unknown key")])
    func badValues(text: String, line: Int, column: Int, key: String, says: String) {
        do {
            _ = try ConfigLoader.parseProfile(text: Self.base + text, file: "g.yaml")
            Issue.record("no error for \(text)")
        } catch {
            #expect(error.file == "g.yaml" && error.line == line && error.column == column && error.key == key, "\(error)")
            #expect(error.message.contains(says), "\(error)")
        }
    }

    @Test func theReleaseGateProfileLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = try ConfigLoader.loadProfile(path: root.appendingPathComponent("profiles/release-gate.yaml").path)
        #expect(p.gate == GateConfig(latencyP50: 25, latencyP99: 20, latencyMax: 50, latencyFloorMicros: 200, messagesPerSecond: 10,
                                     failureRateAlpha: 0.05, messageErrorsAlpha: 0.05, newFindings: .fail))
    }
}
