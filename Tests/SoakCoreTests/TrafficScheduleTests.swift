import Testing
@testable import SoakCore

@Suite("TrafficSchedule")
struct TrafficScheduleTests {
    let start: UInt64 = 1 * sec

    @Test("100/s: the n-th message is due at start + n * 10 ms, no drift after 10 000")
    func fixedRateNoDrift() {
        var s = TrafficSchedule(phases: [phase(duration: .seconds(1_000), rate: .perSecond(100))], start: start, seed: 1)
        var wrong: [(n: UInt64, due: UInt64)] = []
        for n: UInt64 in 0..<10_000 {
            if s.nextDue != start + n * 10 * ms { wrong.append((n, s.nextDue)) }
            s.didSend(now: s.nextDue)
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(s.nextDue == start + 100 * sec)
    }

    @Test("3/s: an interval that is no whole number of ns still does not drift")
    func fractionalIntervalNoDrift() {
        var s = TrafficSchedule(phases: [phase(duration: .seconds(100_000), rate: .perSecond(3))], start: start, seed: 1)
        for _ in 0..<10_000 { s.didSend(now: s.nextDue) }
        // 10 000 / 3 s = 3333.333333333 s; adding 333333333 ns each time would be 3.3 us early.
        #expect(s.nextDue == start + 3_333_333_333_333)
    }

    @Test("a little late: the timetable holds and the next one is due at once")
    func slightlyLateCatchesUp() {
        var s = TrafficSchedule(phases: [phase(rate: .perSecond(100))], start: start, seed: 1)
        s.didSend(now: start + 30 * ms)
        #expect(s.nextDue == start + 10 * ms)
    }

    @Test("after a recovery the timetable starts again from then: nothing is late, nothing is sent in a burst")
    func resumeAfterRecovery() {
        var s = TrafficSchedule(phases: [phase(duration: .seconds(100), rate: .perSecond(100))], start: start, seed: 1)
        for _ in 0..<10 { s.didSend(now: s.nextDue) }
        let back = start + 5 * sec
        s.resume(now: back)
        #expect(s.nextDue == back)
        s.didSend(now: back)
        #expect(s.nextDue == back + 10 * ms)
        s.didSend(now: back + 10 * ms)
        #expect(s.nextDue == back + 20 * ms)
    }

    @Test("falling far behind re-anchors the timetable instead of bursting to catch up")
    func farBehindReanchors() {
        var s = TrafficSchedule(phases: [phase(rate: .perSecond(100))], start: start, seed: 1)
        s.didSend(now: start)
        s.didSend(now: start + 10 * ms)
        // The window was full for a whole second.
        let late = start + 1 * sec
        s.didSend(now: late)
        #expect(s.nextDue == late + 10 * ms)
        s.didSend(now: s.nextDue)
        #expect(s.nextDue == late + 20 * ms)
        s.didSend(now: s.nextDue)
        #expect(s.nextDue == late + 30 * ms)
    }

    @Test("max rate: the next message is due now")
    func maxRate() {
        var s = TrafficSchedule(phases: [phase(rate: .max)], start: start, seed: 1)
        #expect(s.nextDue == start)
        s.didSend(now: start + 7 * us)
        #expect(s.nextDue == start + 7 * us)
    }

    @Test("burst of 5 every 1 s: 5 due immediately, then the next at +1 s")
    func burst() {
        var s = TrafficSchedule(phases: [phase(rate: .perSecond(1), burst: Burst(count: 5, every: .seconds(1)))],
                                start: start, seed: 1)
        var t = start
        for i in 0..<5 {
            #expect(s.nextDue <= t, "message \(i) of the burst")
            s.didSend(now: t)
            t += 10 * us
        }
        #expect(s.nextDue == start + 1 * sec)
        t = s.nextDue
        for _ in 0..<5 {
            #expect(s.nextDue <= t)
            s.didSend(now: t)
            t += 10 * us
        }
        #expect(s.nextDue == start + 2 * sec)
    }

    @Test("advancePhase moves through phases at their durations, isFinished after the last")
    func phases() {
        var s = TrafficSchedule(phases: [phase("a", duration: .seconds(10)), phase("b", duration: .seconds(5), rate: .max)],
                                start: start, seed: 1)
        #expect(s.phase.name == "a")
        #expect(s.phaseEnd == start + 10 * sec)
        let changed1 = s.advancePhase(now: start + 10 * sec - 1)
        #expect(!changed1)
        #expect(s.phaseIndex == 0)
        s.didSend(now: start)
        let changed2 = s.advancePhase(now: start + 10 * sec + 3 * ms)
        #expect(changed2)
        #expect(s.phaseIndex == 1)
        #expect(s.phase.name == "b")
        #expect(s.phaseStart == start + 10 * sec)
        #expect(s.nextDue == start + 10 * sec)
        #expect(!s.isFinished)
        let changed3 = s.advancePhase(now: start + 15 * sec - 1)
        #expect(!changed3)
        let changed4 = s.advancePhase(now: start + 15 * sec)
        #expect(changed4)
        #expect(s.isFinished)
        let changed5 = s.advancePhase(now: start + 100 * sec)
        #expect(!changed5)
    }

    @Test("a long pause skips every phase it covers")
    func skipPhases() {
        var s = TrafficSchedule(phases: [phase(duration: .seconds(1)), phase(duration: .seconds(1)), phase(duration: .seconds(1))],
                                start: start, seed: 1)
        let changed6 = s.advancePhase(now: start + 2 * sec + 1)
        #expect(changed6)
        #expect(s.phaseIndex == 2)
        #expect(s.phaseStart == start + 2 * sec)
        let changed7 = s.advancePhase(now: start + 60 * sec)
        #expect(changed7)
        #expect(s.isFinished)
    }

    func sizes(_ spec: SizeSpec, _ n: Int, seed: UInt64 = 1) -> [Int] {
        var s = TrafficSchedule(phases: [phase(size: spec)], start: start, seed: seed)
        return (0..<n).map { _ in s.nextSize() }
    }

    @Test("fixed size")
    func fixedSize() {
        #expect(sizes(.fixed(64), 5) == [64, 64, 64, 64, 64])
    }

    @Test("a list of sizes cycles in order")
    func listSizes() {
        #expect(sizes(.list([21, 100, 496]), 7) == [21, 100, 496, 21, 100, 496, 21])
    }

    @Test("uniform sizes stay within bounds, use the range, and repeat for a seed")
    func uniformSizes() {
        let a = sizes(.uniform(min: 30, max: 40), 2_000, seed: 7)
        #expect(a.allSatisfy { (30...40).contains($0) })
        #expect(Set(a) == Set(30...40))
        #expect(a == sizes(.uniform(min: 30, max: 40), 2_000, seed: 7))
        #expect(a != sizes(.uniform(min: 30, max: 40), 2_000, seed: 8))
    }

    @Test("sweep 24..496 step 59 walks up and wraps")
    func sweepSizes() {
        #expect(sizes(.sweep(from: 24, to: 496, step: 59), 11) == [24, 83, 142, 201, 260, 319, 378, 437, 496, 24, 83])
        #expect(sizes(.sweep(from: 24, to: 100, step: 30), 4) == [24, 54, 84, 24])
        #expect(sizes(.sweep(from: 100, to: 40, step: 30), 4) == [100, 70, 40, 100])
    }

    @Test("a new phase starts its size list from the beginning")
    func sizesRestartPerPhase() {
        var s = TrafficSchedule(phases: [phase(duration: .seconds(1), size: .list([30, 40, 50])),
                                         phase(duration: .seconds(1), size: .list([30, 40, 50]))], start: start, seed: 1)
        #expect(s.nextSize() == 30)
        #expect(s.nextSize() == 40)
        _ = s.advancePhase(now: start + 1 * sec)
        #expect(s.nextSize() == 30)
    }
}
