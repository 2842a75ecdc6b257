import BoardSimulator
import Foundation
import SoakCore
import SoakReports
import Testing

/// Each fault of the simulated M7, on virtual time: the failure it ends the link with and the
/// diagnosis line, as the runner, the line watcher and the evidence make them. The same cases
/// run once through the binary and real ptys in EndToEndTests (DiagnosisRunTests).
@Suite struct VirtualDiagnosisTests {
    static let profile = """
    name: fault
    report_interval: 1s
    link: {hang_timeout: 1500ms, loss_timeout: 500ms, drain_timeout: 1s}
    phases:
      - {name: steady, duration: 20s, rate: 50, size: 64, window: 4, payload: binary}
    criteria: {min_echoed: 50}
    """

    static let cases: [(fault: FaultSpec.Kind, heartbeat: SoakDuration?, failure: LinkFailure.Kind, expect: [String])] = [
        (.kickHalt, nil, .finding, ["kick timeout on vq 1", "UART silent", "core halted or clock-gated"]),
        (.kickAlive, .milliseconds(50), .finding, ["kick timeout on vq 1", "UART still printing", "interrupt masked or starved"]),
        (.assert, nil, .finding, ["failed assert( len < 512 ) at main_remote.c:215", "core halted or clock-gated"]),
        (.hardfault, nil, .finding, ["kick timeout on vq 1", "UART silent since", "core halted or clock-gated"]),
        (.hangup, nil, .linkLost, ["link lost", "the kernel removed the RPMsg tty driver"]),
    ]

    @Test(arguments: cases.indices)
    func faultGivesItsDiagnosis(_ i: Int) throws {
        let c = Self.cases[i]
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(0), heartbeat: c.heartbeat,
                                     faults: [FaultSpec(kind: c.fault, mtbf: .milliseconds(700), down: .seconds(5))])
        let (events, _) = try VirtualNightTests.night(profile: Self.profile, board: config, seed: 3, steps: { _ in [] })
        let failure = try #require(events.compactMap(\.failure).first, "\(c.fault): no link failure")
        #expect(failure.kind == c.failure, "\(c.fault): \(failure.reason)")
        let diagnosis = failure.evidence?.diagnosis ?? ""
        for part in c.expect { #expect(diagnosis.contains(part), "\(c.fault): \(diagnosis)") }
        #expect(events.last?.end?.reason == .linkFailed)
    }

    /// On the board a write() sleeps in the driver while the mailbox times out: the run keeps
    /// taking the kernel's lines meanwhile, and the evidence says how long the write was held.
    @Test func aWriteHeldInTheDriverByKickTimeoutsIsEvidence() throws {
        // kick-alive: the core runs (heartbeat) but never answers the mailbox; a window of 8
        // keeps sending after the halt, each message costing Linux the 100 ms TX timeout.
        let profile = Self.profile.replacingOccurrences(of: "window: 4", with: "window: 8")
            .replacingOccurrences(of: "hang_timeout: 1500ms", with: "hang_timeout: 3s")
        let config = SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0), heartbeat: .milliseconds(100),
                                     faults: [FaultSpec(kind: .kickAlive, mtbf: .seconds(2))])
        let (events, board) = try VirtualNightTests.night(profile: profile, board: config, seed: 5, steps: { _ in [] })
        #expect(board.longestWrite >= 100_000_000, "a write waited for the mailbox: \(board.longestWrite) ns")
        let failure = try #require(events.compactMap(\.failure).first)
        let diagnosis = failure.evidence?.diagnosis ?? ""
        #expect(diagnosis.contains("a write() was held"), "\(diagnosis)")
        #expect(diagnosis.contains("UART still printing"), "the heartbeat went on during the held writes: \(diagnosis)")
    }

    /// The ladder skips what the board cannot do, says why, and a restart through remoteproc
    /// clears a kick timeout when Linux loaded the firmware.
    @Test func aRemoteprocRestartRecoversAKickHaltAndAnUnavailablePowerCycleIsSkipped() throws {
        let profile = """
        name: ladder
        report_interval: 10s
        link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 1s}
        phases:
          - {duration: 2m, rate: 20, size: 64, window: 4}
        recovery: {ladder: [power-cycle, remoteproc-restart], probe_timeout: 2s, boot_timeout: 10s}
        criteria: {min_echoed: 1}
        """
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(300),
                                     faults: [FaultSpec(kind: .kickHalt, mtbf: .seconds(20))])
        let (events, board) = try VirtualNightTests.night(profile: profile, board: config, seed: 11, ready: "Nameservice sent",
            steps: { b in [PowerCycleStep(power: nil, offTime: nil, settleTime: nil, opener: b),
                           RemoteprocRestartStep(core: b, opener: b)] })
        let records = events.compactMap(\.recovery)
        #expect(board.restarts >= 1 && board.powerCycles == 0)
        #expect(records.contains { $0.step == .powerCycle && $0.outcome == .skipped && $0.detail.contains(StepUnavailable.noPowerSwitch) })
        #expect(records.filter { $0.step == .remoteprocRestart && $0.outcome == .succeeded }.count == board.restarts)
        #expect(events.last?.end?.reason == .completed, "\(events.last?.message ?? "")")
        let summary = try SummaryBuilder.build(events: events)
        #expect(summary.findingCounts["firmware-rebooted"] == nil, "our own restarts are no reboots: \(summary.findingCounts)")
    }
}

/// The same failure gets the same diagnosis whatever the timing: a core that halted (assert,
/// HardFault, kick-halt) is "halted" whether its last line came 1 ms or 1 s before the failure
/// was seen, a core that lives on (kick-alive, heartbeat) is "starved", and a seed gives one
/// diagnosis. Thirty seeds put the fault, and so the last line, at thirty offsets; at 5
/// messages a second the lines between the last echo and the halt (the assert line, heartbeats)
/// come well after the last echo, where they used to pass for signs of life.
@Suite struct DiagnosisConsistencyTests {
    static let profile = """
    name: slow
    report_interval: 1s
    link: {hang_timeout: 1500ms, loss_timeout: 500ms, drain_timeout: 1s}
    phases:
      - {name: steady, duration: 30s, rate: 5, size: 64, window: 1, payload: binary}
    criteria: {min_echoed: 1}
    """

    static func diagnoses(_ kind: FaultSpec.Kind, heartbeat: SoakDuration?, seed: UInt64) throws -> [String] {
        let config = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(0), heartbeat: heartbeat,
                                     faults: [FaultSpec(kind: kind, mtbf: .seconds(3))])
        let (events, _) = try VirtualNightTests.night(profile: Self.profile, board: config, seed: seed, steps: { _ in [] })
        return events.compactMap(\.failure).compactMap(\.evidence?.diagnosis)
    }

    @Test(arguments: [FaultSpec.Kind.assert, .hardfault, .kickHalt])
    func aHaltedCoreIsHaltedForEveryOffsetOfItsLastLine(_ kind: FaultSpec.Kind) throws {
        for seed in UInt64(1)...30 {
            // A heartbeat too: it stops with the core, and its last beat may come just before.
            let d = try #require(try Self.diagnoses(kind, heartbeat: .milliseconds(40), seed: seed).first, "\(kind) seed \(seed): no failure")
            #expect(d.contains("core halted or clock-gated") && !d.contains("still printing"), "\(kind) seed \(seed): \(d)")
        }
    }

    @Test func aCoreThatLivesOnIsStarvedForEverySeed() throws {
        for seed in UInt64(1)...30 {
            let d = try #require(try Self.diagnoses(.kickAlive, heartbeat: .milliseconds(40), seed: seed).first, "seed \(seed): no failure")
            #expect(d.contains("UART still printing") && d.contains("interrupt masked or starved"), "seed \(seed): \(d)")
        }
    }

    @Test func aSeedGivesOneDiagnosis() throws {
        for kind in [FaultSpec.Kind.assert, .kickAlive] {
            #expect(try Self.diagnoses(kind, heartbeat: .milliseconds(40), seed: 7) == Self.diagnoses(kind, heartbeat: .milliseconds(40), seed: 7))
        }
    }
}
