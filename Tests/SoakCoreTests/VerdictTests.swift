import Testing
@testable import SoakCore

@Suite("CriteriaCheck and Verdict")
struct VerdictTests {
    func counters(echoed: UInt64 = 100, lost: UInt64 = 0) -> Counters {
        var c = Counters()
        c.sent = echoed + lost
        c.echoed = echoed
        c.lost = lost
        return c
    }

    /// Round trips as a run's snapshots carry them: recorded by the verifier's histogram.
    func latency(_ values: [(UInt64, UInt64)]) -> LatencyCounts {
        var h = EchoVerifier.makeHistogram()
        for (v, n) in values { _ = h.record(v, count: n) }
        return LatencyCounts(sparse: h.sparseBuckets)
    }

    @Test("one lost message fails the lost criterion, and the message says so")
    func lostFails() {
        let results = CriteriaCheck.evaluate(.strict, totals: counters(lost: 1), hangs: 0, linkLosses: 0,
                                             latency: latency([(500, 100)]))
        let lost = results.first { $0.name == "lost" }
        #expect(lost?.passed == false)
        #expect(lost?.observed == "1")
        #expect(lost?.limit == "<= 0")
        #expect(lost?.message.contains("1 messages lost") == true, "\(lost?.message ?? "")")
        #expect(results.filter { !$0.passed }.map(\.name) == ["lost"])
    }

    @Test("a clean run passes every strict criterion")
    func cleanPasses() {
        let results = CriteriaCheck.evaluate(.strict, totals: counters(), hangs: 0, linkLosses: 0, latency: latency([(500, 100)]))
        #expect(!results.isEmpty)
        #expect(results.allSatisfy { $0.passed })
        #expect(Set(results.map(\.name)).isSuperset(of: ["lost", "corrupted", "duplicated", "out_of_order", "hangs", "min_echoed"]))
    }

    @Test("a hang fails the hangs criterion")
    func hangFails() {
        let results = CriteriaCheck.evaluate(.strict, totals: counters(), hangs: 1, linkLosses: 0, latency: latency([(500, 100)]))
        #expect(results.filter { !$0.passed }.map(\.name) == ["hangs"])
    }

    @Test("min_echoed: too few echoes fail, enough pass")
    func minEchoed() {
        var c = PassCriteria.strict
        c.minEchoed = 1_000
        let few = CriteriaCheck.evaluate(c, totals: counters(echoed: 999), hangs: 0, linkLosses: 0, latency: latency([(500, 999)]))
        let r = few.first { $0.name == "min_echoed" }
        #expect(r?.passed == false)
        #expect(r?.message == "only 999 messages echoed, at least 1000 needed")
        let enough = CriteriaCheck.evaluate(c, totals: counters(echoed: 1_000), hangs: 0, linkLosses: 0, latency: latency([(500, 1_000)]))
        #expect(enough.first { $0.name == "min_echoed" }?.passed == true)

        let none = CriteriaCheck.evaluate(.strict, totals: counters(echoed: 0), hangs: 0, linkLosses: 0, latency: latency([]))
        #expect(none.first { $0.name == "min_echoed" }?.passed == false)
    }

    @Test("latency p99 above the limit fails with the observed value")
    func latencyP99() {
        var c = PassCriteria.strict
        c.maxLatencyP99 = .milliseconds(10)
        // 98 fast round trips and 2 of 50 ms: p99 is 50 ms.
        let slow = CriteriaCheck.evaluate(c, totals: counters(), hangs: 0, linkLosses: 0, latency: latency([(800, 98), (50_000, 2)]))
        let r = slow.first { $0.name == "latency_p99" }
        #expect(r?.passed == false)
        #expect(r?.limit == "<= 10ms")
        #expect(r?.observed.hasPrefix("50") == true && r?.observed.hasSuffix(" ms") == true, "\(r?.observed ?? "")")
        #expect(r?.message.contains("above the limit of 10ms") == true)

        // Only 1 in 100 slow: p99 is the fast value.
        let fast = CriteriaCheck.evaluate(c, totals: counters(), hangs: 0, linkLosses: 0, latency: latency([(800, 99), (50_000, 1)]))
        let f = fast.first { $0.name == "latency_p99" }
        #expect(f?.passed == true)
        #expect(f?.observed == "800 us")
    }

    @Test("exit codes follow DESIGN.md")
    func exitCodes() {
        #expect(Verdict.passed.exitCode == 0)
        #expect(Verdict.failed.exitCode == 1)
        #expect(Verdict.incomplete.exitCode == 1)
        #expect(Verdict.error.exitCode == 3)
        #expect(Verdict.interrupted.exitCode == 130)
    }

    @Test("latencies print in readable units")
    func formatMicros() {
        #expect(CriteriaCheck.formatMicros(250) == "250 us")
        #expect(CriteriaCheck.formatMicros(1_500) == "1.5 ms")
        #expect(CriteriaCheck.formatMicros(2_000_000) == "2 s")
    }
}
