import BoardSimulator
import Foundation
import SoakCore
import SoakReports
import Testing

/// Whole runs on the in-memory board on virtual time: the real runner, line watcher, evidence,
/// recovery strategy and steps, the real firmware and fault models; nothing sleeps.
@Suite struct VirtualNightTests {
    /// One run on a virtual board: the events it put on its timeline and the board afterwards.
    static func night(profile yaml: String, board config: SimulatorConfig, seed: UInt64,
                      ready: String? = nil, steps: (VirtualBoard) -> [RecoveryStep]) throws -> (events: [Event], board: VirtualBoard) {
        var profile = try ConfigLoader.parseProfile(text: yaml, file: "virtual.yaml")
        profile.seed = seed
        let board = VirtualBoard(config: config, seed: seed)
        let inbox = LineInbox()
        board.start(delivering: inbox)
        let sink = MemoryEventSink()
        let wall = Date(timeIntervalSince1970: 1_780_000_000)
        var start = Event(t: 0, wall: WallTime.iso8601(wall), type: .runStart, message: "virtual night")
        var simBoard = BoardConfig.builtInSimulator
        simBoard.simulator = config
        start.run = RunInfo(profile: profile, board: simBoard, profilePath: "virtual.yaml", boardPath: "sim",
                            seed: seed, host: "virtual", tool: "tests")
        sink.emit(start)
        let link = try board.open(timeout: .seconds(30), interrupted: { false })
        let watch = SoakRunner.Watch(inbox: inbox, uartWatched: true, kernelWatched: true,
                                     ready: try ready.map { try NSRegularExpression(pattern: $0) })
        let runner = try SoakRunner(profile: profile, link: link, clock: board.clock, waiter: board, sink: sink,
                                    runStartMono: board.clock.now(), runStartWall: wall, watch: watch,
                                    recovery: steps(board), shouldStop: { false })
        _ = runner.run()
        return (sink.events, board)
    }

    static let twelveHours = """
    name: virtual-night
    report_interval: 30m
    link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 2s}
    phases:
      - {name: steady, duration: 12h, rate: 1, size: 64, window: 4}
    recovery:
      ladder: [reopen, power-cycle]
      probe_timeout: 2s
      off_time: 2s
      boot_timeout: 30s
      max_recoveries: 1000
      max_consecutive_failures: 3
    criteria: {min_echoed: 1}
    """

    static func powerCycleSteps(_ board: VirtualBoard) -> [RecoveryStep] {
        [ReopenStep(opener: board),
         PowerCycleStep(power: PowerControl(board, onExit: .on, knownOn: true), offTime: nil, settleTime: .milliseconds(200), opener: board)]
    }

    @Test func twelveHoursOfKickHaltsWithMtbf20MinAreRecoveredByPowerCycleAndTheMtbfIntervalHoldsTheTruth() throws {
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(800),
                                     faults: [FaultSpec(kind: .kickHalt, mtbf: .seconds(1200))])
        let wallStart = Date()
        let (events, board) = try Self.night(profile: Self.twelveHours, board: config, seed: 7, steps: Self.powerCycleSteps)
        let wallSeconds = Date().timeIntervalSince(wallStart)
        let summary = try SummaryBuilder.build(events: events)

        #expect(summary.endReason == "completed", "\(summary.endDetail ?? "")")
        #expect(summary.durationSeconds >= 12 * 3600 && summary.durationSeconds < 12 * 3600 + 60)
        let r = summary.reliability
        // 12 h at an MTBF of 20 min: about 36 failures (Poisson: 24 to 48 at 99%).
        #expect((24...48).contains(r.failures), "failures \(r.failures)")
        #expect(r.recoveries == r.failures, "every failure recovered")
        #expect(r.recoveredBy["power-cycle"] == UInt64(r.failures), "a reopen never clears a kick timeout: \(r.recoveredBy)")
        #expect(board.powerCycles == r.failures)
        #expect(board.faults.allSatisfy { $0.kind == .kickHalt } && board.faults.count == r.failures)
        let mtbf = try #require(r.mtbfSeconds)
        let upper = try #require(r.mtbfUpper95)
        #expect(r.mtbfLower95 <= 1200 && 1200 <= upper, "MTBF \(mtbf) s, 95% \(r.mtbfLower95)-\(upper) s must hold 20 min")
        // Every failure was the halted M7: the kernel's kick failure and a silent UART.
        for f in summary.linkFailures {
            #expect(f.diagnosis?.contains("UART silent") == true, "\(f.diagnosis ?? f.reason)")
        }
        #expect(summary.totals.lost == 0 && summary.totals.corrupted == 0 && summary.totals.duplicated == 0)
        #expect(summary.totals.echoed > 40_000)
        // Each step's hardware actions are on the timeline with their outcome.
        let actions = events.compactMap(\.action)
        #expect(actions.filter { $0.name.hasPrefix("power off") && $0.outcome == .succeeded }.count == r.failures)
        #expect(wallSeconds < 30, "12 virtual hours took \(wallSeconds) s of wall time")
        print("virtual night: \(r.failures) failures in 12 h, MTBF \(Int(mtbf)) s (95%: \(Int(r.mtbfLower95))-\(Int(upper)) s), \(summary.totals.echoed) echoed, \(String(format: "%.2f", wallSeconds)) s of wall time")
    }

    @Test func theSameSeedGivesTheSameNightEventForEvent() throws {
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(500),
                                     faults: [FaultSpec(kind: .kickHalt, mtbf: .seconds(180)), FaultSpec(kind: .drop, mtbf: .seconds(120)),
                                              FaultSpec(kind: .corrupt, mtbf: .seconds(240))])
        let profile = Self.twelveHours.replacingOccurrences(of: "duration: 12h", with: "duration: 1h")
        let a = try Self.night(profile: profile, board: config, seed: 99, steps: Self.powerCycleSteps).events
        let b = try Self.night(profile: profile, board: config, seed: 99, steps: Self.powerCycleSteps).events
        let c = try Self.night(profile: profile, board: config, seed: 100, steps: Self.powerCycleSteps).events
        #expect(a.count > 100)
        #expect(a == b, "bit for bit: \(zip(a, b).first { $0 != $1 }.map { "\($0.0)\n\($0.1)" } ?? "lengths \(a.count) \(b.count)")")
        #expect(a != c, "another seed, another night")
    }
}

/// An interval snapshot belongs to the phase whose traffic it counts: while the next phase
/// settles (its start not yet on the timeline) a snapshot still carries the phase that ended.
struct PhaseBoundaryTests {
    @Test func noSnapshotCarriesAPhaseBeforeItsStart() throws {
        let profile = """
        name: boundaries
        report_interval: 100ms
        link: {hang_timeout: 3s, loss_timeout: 1s, drain_timeout: 1s}
        phases:
          - {name: first, duration: 2s, rate: 20, size: 64, window: 4}
          - {name: second, duration: 2s, rate: 20, size: 64, window: 4}
          - {name: third, duration: 2s, rate: 20, size: 64, window: 4}
        criteria: {min_echoed: 1}
        """
        // Echoes held back now and then (latency spikes) make the settle between phases last.
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(0),
                                     faults: [FaultSpec(kind: .latency, mtbf: .milliseconds(500), spike: .milliseconds(400))])
        let (events, _) = try VirtualNightTests.night(profile: profile, board: config, seed: 2, steps: { _ in [] })
        var started: [String] = []
        for e in events {
            if let p = e.phase { started.append(p.name) }
            if let s = e.interval {
                #expect(started.last == s.phase, "an interval of \(s.phase) at \(e.t) s after the start of \(started)")
            }
        }
        #expect(started == ["first", "second", "third"])
    }
}
