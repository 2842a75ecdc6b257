import Foundation
import Testing
@testable import SoakCore

/// The line watcher on its own: lines and time in, findings and notes out.
@Suite struct LineWatcherTests {
    static let t0: UInt64 = 100 * sec

    static func watcher(heartbeat: HeartbeatRule? = nil, ready: String? = nil) throws -> LineWatcher {
        try LineWatcher(rules: try RuleSet(BuiltInRules.all), heartbeat: heartbeat,
                        ready: try ready.map { try NSRegularExpression(pattern: $0) }, start: t0)
    }

    static func uart(_ text: String, at: UInt64) -> LineInbox.Item { .line(SourceLine(source: .uart, at: at, text: text)) }
    static func kernel(_ text: String, at: UInt64) -> LineInbox.Item { .line(SourceLine(source: .kernel, at: at, text: text, level: 3)) }

    static func findings(_ notes: [LineWatcher.Note]) -> [String] {
        notes.compactMap { if case .finding(let f, _) = $0 { return f.findingClass } else { return nil } }
    }

    @Test func aKickFailureIsAFindingThatAsksForRecovery() throws {
        var w = try Self.watcher()
        var notes: [LineWatcher.Note] = []
        w.take([Self.kernel("imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)", at: Self.t0 + 5 * sec)], into: &notes)
        #expect(Self.findings(notes) == [FindingClass.mailboxKickTimeout.rawValue])
        #expect(w.recoverFinding?.finding.is(.mailboxKickTimeout) == true)
        w.clearRecoverFinding()
        #expect(w.recoverFinding == nil)
    }

    @Test func theBannerOfTheBootWeStartedOnAndOfOurOwnPowerCycleAreNoReboot() throws {
        var w = try Self.watcher()
        w.firstEchoAt = Self.t0 + 100 * ms
        let banner = "RPMSG String Echo FreeRTOS RTOS API Demo..."
        var notes: [LineWatcher.Note] = []
        // Read after the first echo but printed in the first 2 s: the boot the run started on.
        w.take([Self.uart(banner, at: Self.t0 + 1 * sec)], into: &notes)
        #expect(notes == [.seen(BoardSeen(key: .firmware, value: banner), source: .uart, at: Self.t0 + 1 * sec)])
        // Our own power cycle: expected until the window closes.
        w.expectReboot(until: Self.t0 + 60 * sec)
        w.take([Self.uart(banner, at: Self.t0 + 50 * sec), .notice(.uart, .lost("gone"), at: Self.t0 + 50 * sec)], into: &notes)
        #expect(Self.findings(notes).isEmpty, "\(notes)")
        // Later, nobody asked for it: the M7 rebooted.
        notes = []
        w.take([Self.uart(banner, at: Self.t0 + 70 * sec)], into: &notes)
        #expect(Self.findings(notes) == [FindingClass.firmwareRebooted.rawValue])
    }

    @Test func theFirstReadyLineIsTheFirmwareBannerAndTheFirstLinuxVersionLineTheKernelVersion() throws {
        var w = try Self.watcher(ready: "String Echo")
        var notes: [LineWatcher.Note] = []
        w.take([Self.uart("boot 1", at: Self.t0), Self.uart("  NXP String Echo FreeRTOS v2.15 \r", at: Self.t0 + sec),
                Self.kernel("Linux version 6.6.23-lts-next-g1 (oe-user@oe-host) (gcc 13.2) #1 SMP PREEMPT", at: Self.t0 + sec),
                Self.uart("NXP String Echo FreeRTOS v2.16", at: Self.t0 + 2 * sec),
                Self.kernel("Linux version 6.1.0", at: Self.t0 + 2 * sec)], into: &notes)
        #expect(notes == [.seen(BoardSeen(key: .firmware, value: "NXP String Echo FreeRTOS v2.15"), source: .uart, at: Self.t0 + sec),
                          .seen(BoardSeen(key: .kernel, value: "6.6.23-lts-next-g1"), source: .kernel, at: Self.t0 + sec)])
        #expect(w.seen == [.firmware: "NXP String Echo FreeRTOS v2.15", .kernel: "6.6.23-lts-next-g1"])
    }

    @Test func aUartLostAfterItOpenedIsAFindingButNotBeforeItEverOpened() throws {
        var w = try Self.watcher()
        var notes: [LineWatcher.Note] = []
        w.take([.notice(.uart, .lost("/dev/ttyUSB2 does not exist"), at: Self.t0 + sec)], into: &notes)
        #expect(Self.findings(notes).isEmpty)
        w.take([.notice(.uart, .opened("/dev/ttyUSB2"), at: Self.t0 + 2 * sec),
                .notice(.uart, .lost("end of file"), at: Self.t0 + 9 * sec)], into: &notes)
        #expect(Self.findings(notes) == [FindingClass.uartLost.rawValue])
        #expect(notes.contains(.source(.uart, message: "uart: opened /dev/ttyUSB2", at: Self.t0 + 2 * sec, warning: false)))
    }

    @Test func aMissingHeartbeatIsOneFindingPerSilence() throws {
        var w = try Self.watcher(heartbeat: HeartbeatRule(pattern: "heartbeat", within: .seconds(5)))
        var notes: [LineWatcher.Note] = []
        w.tick(now: Self.t0 + 4 * sec, into: &notes)
        #expect(notes.isEmpty)
        w.tick(now: Self.t0 + 5 * sec, into: &notes)
        w.tick(now: Self.t0 + 9 * sec, into: &notes)
        #expect(Self.findings(notes) == [FindingClass.uartHeartbeatMissing.rawValue])
        w.take([Self.uart("[M7] heartbeat 7", at: Self.t0 + 10 * sec)], into: &notes)
        w.tick(now: Self.t0 + 14 * sec, into: &notes)
        #expect(Self.findings(notes).count == 1, "back in time")
        w.tick(now: Self.t0 + 15 * sec, into: &notes)
        #expect(Self.findings(notes).count == 2, "silent again")
    }

    @Test func theReadyLineIsSeenOnlyAfterItWasAwaited() throws {
        var w = try Self.watcher(ready: "Nameservice sent")
        var notes: [LineWatcher.Note] = []
        w.take([Self.uart("Nameservice sent, ready for incoming messages...", at: Self.t0 + sec)], into: &notes)
        #expect(w.readySeenAt == Self.t0 + sec)
        w.awaitReady()
        #expect(w.readySeenAt == nil)
        w.take([Self.uart("Get Message From Master Side", at: Self.t0 + 2 * sec)], into: &notes)
        #expect(w.readySeenAt == nil)
    }

    @Test func linesDroppedUnreadAreAWarning() throws {
        let w = try Self.watcher()
        var notes: [LineWatcher.Note] = []
        w.dropped(0, at: Self.t0, into: &notes)
        #expect(notes.isEmpty)
        w.dropped(2001, at: Self.t0, into: &notes)
        guard case .source(nil, let message, _, true)? = notes.first else { Issue.record("\(notes)"); return }
        #expect(message.contains("2001"))
    }

    @Test func theInboxCountsWhatItDroppedOnce() {
        let inbox = LineInbox(capacity: 10)
        for i in 0..<25 { inbox.line(SourceLine(source: .uart, at: UInt64(i), text: "x")) }
        let dropped = inbox.takeDropped()
        #expect(dropped > 0 && dropped + UInt64(inbox.drain().count) >= 25)
        #expect(inbox.takeDropped() == 0)
    }

    @Test func judgingLinesYieldsToTheNextSendWithinItsFloorAndCap() {
        let now: UInt64 = 10_000_000_000
        // A send due in 300 us: the lines get 300 us, not the whole 1 ms.
        #expect(LineIntake.slice(untilDue: now + 300_000, now: now) == 300_000)
        // A send due now or overdue (rate: max): still the floor, so a flood is judged.
        #expect(LineIntake.slice(untilDue: now, now: now) == LineIntake.minimumSlice)
        #expect(LineIntake.slice(untilDue: now - 5_000, now: now) == LineIntake.minimumSlice)
        // Nothing due for a while: the cap.
        #expect(LineIntake.slice(untilDue: now + 90_000_000, now: now) == LineIntake.budget)
    }

    @Test func everyBuiltInRuleHasAKnownClass() {
        for rule in BuiltInRules.all { #expect(FindingClass(rawValue: rule.findingClass) != nil, "\(rule.name)") }
    }

    /// A rule that does not compile stops the run before it starts; it never runs with an empty rule set.
    @Test func aRunnerRefusesARuleThatDoesNotCompile() throws {
        var profile = try ConfigLoader.parseProfile(text: "name: p\nphases:\n  - {duration: 1s, rate: 1, size: 64}\n", file: "p.yaml")
        profile.rules = [Rule(name: "broken", source: .uart, pattern: "([", findingClass: "broken", severity: .error,
                              explanation: "", action: .record)]
        let clock = ManualClock()
        #expect(throws: ConfigError.self) {
            _ = try SoakRunner(profile: profile, link: ClosedLink(), clock: clock, waiter: nil, sink: MemoryEventSink(),
                               runStartMono: clock.now(), runStartWall: Date(), shouldStop: { false })
        }
    }
}

/// A link that is never opened: the runner above must refuse before it touches one.
final class ClosedLink: Link {
    let path = "closed"
    func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness { LinkReadiness(readable: false, writable: false, hangup: true) }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO { .failed("closed") }
    func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO { .failed("closed") }
    func close() {}
}

/// The runner with a held write, on virtual time. Stand-in link: no driver here holds a write
/// on virtual time (HeldWriteTests in SoakLinuxTests holds a real one on a pty); this link's
/// first write goes through, every later one is held until the deadline it is given.
@Suite struct HeldWriteRunnerTests {
    final class HeldWritesStandInLink: Link {
        let path = "stand-in"
        let clock: ManualClock
        var writes = 0
        var deadlines: [UInt64] = []
        init(clock: ManualClock) { self.clock = clock }
        func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness {
            clock.advance(timeout)
            return LinkReadiness(readable: false, writable: true, hangup: false)
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO { .wouldBlock }
        func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO { write(bytes, returningBy: .max) }
        func write(_ bytes: UnsafeRawBufferPointer, returningBy deadline: UInt64) -> LinkIO {
            writes += 1
            if writes == 1 { return .done(count: bytes.count, at: clock.now()) }
            deadlines.append(deadline)
            clock.advance(to: min(deadline, clock.now() &+ 15 * sec))  // the rpmsg bus waits up to 15 s for a TX buffer
            return clock.now() >= deadline ? .wouldBlock : .done(count: bytes.count, at: clock.now())
        }
        func close() {}
    }

    @Test func aWriteHeldInTheDriverDoesNotDelayTheHangPastHangTimeout() throws {
        let profile = try ConfigLoader.parseProfile(text: """
        name: held
        link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 1s}
        phases:
          - {duration: 60s, rate: 10, size: 64, window: 4}
        """, file: "held.yaml")
        let clock = ManualClock()
        let link = HeldWritesStandInLink(clock: clock)
        let sink = MemoryEventSink()
        let start = clock.now()
        let runner = try SoakRunner(profile: profile, link: link, clock: clock, waiter: nil, sink: sink,
                                    runStartMono: start, runStartWall: Date(), shouldStop: { false })
        let outcome = runner.run()
        #expect(outcome.hangs == 1)
        let hang = try #require(sink.events.first { $0.type == .hang })
        #expect(hang.t >= 2 && hang.t < 2.2, "declared at hang_timeout after the first send, not after the 15 s the driver would hold the write: \(hang.t) s")
        #expect(link.deadlines.allSatisfy { $0 <= start &+ SoakRunner.drainQuiet &+ 2 * sec }, "every write was given the hang deadline")
        #expect(hang.failure?.evidence?.diagnosis.contains("a write() was held") == true, "\(hang.failure?.evidence?.diagnosis ?? "")")
    }
}
