import Foundation
import Testing

/// Recover and soak on, through the binary and real ptys: the simulated M7 stops servicing its
/// mailbox every few seconds; each time the kick failure ends the link, a step of the ladder
/// brings it back. The statistics of a whole night are proven on virtual time
/// (BoardSimulatorTests/VirtualNightTests); these runs prove the real devices do what it models.
/// Not serialized: six runs of 7-12 s one after another were the suite's longest path; how many
/// binaries run at once is bounded for the whole suite by Harness.slots.
@Suite struct RecoveryRunTests {
    @Test func kickTimeoutsAreRecoveredByPowerCyclesAndEveryMessageIsAccountedFor() async throws {
        let dir = Harness.tempDir()
        let r = try await Harness.run(["run", Harness.fixture("recovery.yaml"), "--board", Harness.fixture("sim-kick-3s.yaml"), "--out", dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let rel = try #require(summary["reliability"] as? [String: Any])
        let failures = try #require(rel["failures"] as? Int)
        #expect(failures >= 1, "\(rel)")
        #expect(rel["recoveries"] as? Int == failures, "every failure recovered")
        #expect((rel["recovered_by"] as? [String: Int])?["power-cycle"] == failures)
        #expect((rel["time_to_failure_seconds"] as? [Double])?.count == failures)
        #expect(rel["mtbf_lower95"] as? Double != nil)

        let totals = try r.totals()
        #expect(totals["lost"] == 0 && totals["corrupted"] == 0 && totals["duplicated"] == 0 && totals["out_of_order"] == 0, "\(totals)")
        #expect((totals["echoed"] ?? 0) + (totals["unanswered"] ?? 0) == totals["sent"], "every message is echoed or died with a link: \(totals)")
        let linkFailures = try #require(summary["link_failures"] as? [[String: Any]])
        #expect(linkFailures.count == failures)
        for f in linkFailures {
            let d = f["diagnosis"] as? String ?? ""
            #expect(d.contains("kick timeout on vq 1") && d.contains("core halted or clock-gated"), "\(d)")
        }
        let findings = try #require(summary["finding_counts"] as? [String: Int])
        #expect(findings["firmware-rebooted"] == nil, "our own power cycles are not reported as M7 reboots: \(findings)")
        let events = try String(contentsOfFile: "\(r.runFolder ?? "")/events.jsonl", encoding: .utf8)
        #expect(events.contains("\"type\":\"action\"") && events.contains("power off (sim): succeeded"),
                "each hardware action of a step is on the timeline")
    }

    @Test func withoutPowerTheLadderGivesUpWithAnInfrastructureVerdict() async throws {
        let dir = Harness.tempDir()
        let profile = "\(dir)/p.yaml"
        try String(contentsOfFile: Harness.fixture("recovery.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "ladder: [power-cycle]", with: "ladder: [reopen]\n  max_consecutive_failures: 2")
            .replacingOccurrences(of: "duration: 12s", with: "duration: 8s")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let board = "\(dir)/b.yaml"
        try "name: sim-kick\nlink: {device: sim}\nsimulator:\n  uart_baud: 4000000\n  faults:\n    - {kind: kick-halt, mtbf: 1s}\n"
            .write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        #expect(summary["end_reason"] as? String == "infrastructure")
        #expect((summary["end_detail"] as? String ?? "").contains("2 recovery ladders in a row did not bring the link back"))
        let rel = try #require(summary["reliability"] as? [String: Any])
        #expect(rel["recovery_attempts"] as? Int == 2 && rel["recoveries"] as? Int == 0, "reopening does not clear a kick timeout")
    }

    /// A 10-second run whose M7 halts every 2 s on average, with the three-step ladder.
    private func remoteprocRun(startedBy: String, uart: String = "", maxFailures: Int = 3) async throws -> (Harness.Result, String) {
        let dir = Harness.tempDir()
        let profile = "\(dir)/p.yaml"
        try String(contentsOfFile: Harness.fixture("recovery.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "ladder: [power-cycle]", with: "ladder: [reopen, remoteproc-restart, power-cycle]")
            .replacingOccurrences(of: "duration: 12s", with: "duration: 10s")
            .replacingOccurrences(of: "  off_time: 200ms", with: "  off_time: 200ms\n  max_consecutive_failures: \(maxFailures)")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let board = "\(dir)/b.yaml"
        try """
        name: sim-kick
        link: {device: sim}
        simulator:
          uart_baud: 4000000
          boot_time: 300ms
          m7_started_by: \(startedBy)
          faults:
            - {kind: kick-halt, mtbf: 2s}
        \(uart)
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir])
        let folder = r.runFolder ?? ""
        let logs = try ["events.jsonl", "kernel.log"].map { try String(contentsOfFile: "\(folder)/\($0)", encoding: .utf8) }
        return (r, logs.joined())
    }

    @Test func aKickTimeoutIsRecoveredByRestartingTheM7ThroughRemoteproc() async throws {
        let (r, logs) = try await remoteprocRun(startedBy: "linux")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let rel = try #require(try r.summary()["reliability"] as? [String: Any])
        let failures = try #require(rel["failures"] as? Int)
        #expect(failures >= 1, "\(rel)")
        // The restarted M7 may halt again before the probe is echoed (its next fault time is
        // seeded, the probe's time is the machine's): then the power cycle after it brings the
        // link back. Either way every failure is recovered, by one of the two.
        let by = rel["recovered_by"] as? [String: Int] ?? [:]
        #expect(rel["recoveries"] as? Int == failures, "\(rel)")
        #expect(by["remoteproc-restart", default: 0] + by["power-cycle", default: 0] == failures, "\(rel)")
        #expect(by["remoteproc-restart", default: 0] >= 1, "\(rel)")
        #expect(logs.contains("stopped remote processor imx-rproc") && logs.contains("remote processor imx-rproc is now up"),
                "the kernel log shows the restart")
        let findings = try #require(try r.summary()["finding_counts"] as? [String: Int])
        #expect(findings["firmware-rebooted"] == nil, "our own M7 restart is not reported as a reboot: \(findings)")
    }

    @Test func anM7StartedByUBootCannotBeRestartedSoThePowerCycleTakesOver() async throws {
        let (r, logs) = try await remoteprocRun(startedBy: "u-boot")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let rel = try #require(try r.summary()["reliability"] as? [String: Any])
        let failures = try #require(rel["failures"] as? Int)
        #expect(failures >= 1, "\(rel)")
        #expect((rel["recovered_by"] as? [String: Int])?["power-cycle"] == failures, "\(rel)")
        #expect(logs.contains("not applicable: the M7 was started by the boot loader (remoteproc state 'attached')"), "the step says why it was skipped")
    }

    @Test func afterARestartTheProbeWaitsForTheUartReadyLine() async throws {
        let (r, logs) = try await remoteprocRun(startedBy: "linux", uart: "uart: {device: sim, ready: 'String Echo FreeRTOS', ready_timeout: 5s}")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let rel = try #require(try r.summary()["reliability"] as? [String: Any])
        let by = rel["recovered_by"] as? [String: Int] ?? [:]
        #expect(rel["recoveries"] as? Int == rel["failures"] as? Int, "\(rel)")
        #expect(by["remoteproc-restart", default: 0] >= 1, "\(rel)")
        #expect(!logs.contains("did not print a line matching"))
    }

    @Test func aBoardThatNeverPrintsItsReadyLineIsNotRecovered() async throws {
        let (r, logs) = try await remoteprocRun(startedBy: "linux", uart: "uart: {device: sim, ready: 'never printed', ready_timeout: 1s}", maxFailures: 1)
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(logs.contains("the UART did not print a line matching /never printed/ within 1s (uart.ready)"), "\(logs.suffix(2000))")
    }
}
