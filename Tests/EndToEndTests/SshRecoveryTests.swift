import BoardSimulator
import Foundation
import Glibc
import SoakCore
import TestSupport
import Testing

/// The overnight scene of a lab host: the board's tty and kernel log over ssh, its power switched
/// by a command on the host. Powering the simulated board off also kills its sshd (listener and
/// connections, as a power loss does) and powering it on starts sshd again, so each recovery
/// must wait for ssh to answer before the tty. The simulated board runs in the test process
/// (its devices and control FIFO are the same as `rpmsg-soak sim`'s), so a test holds one of
/// Harness's binary slots only for its soak, and the suite runs beside the others: the 3-minute
/// night is then not added to the suite's longest path.
@Suite(.enabled(if: !SshServer.missing, "needs /usr/sbin/sshd (Debian's openssh-server; scripts/setup installs it)"))
struct LabHostRecoveryTests {
    /// The standalone simulated board in `dir`, booted, with `faults` (`kick-halt:mtbf=20s`).
    static func startSim(in dir: String, seed: UInt64, faults: String? = nil) throws -> SimulatedBoard {
        var config = SimulatorConfig.default
        config.uartBaud = 0
        if let faults { config.faults = try FaultSpec.parseList(faults) }
        let sim = SimulatedBoard(options: .init(config: config, seed: seed, directory: dir))
        sim.start()
        try #require(sim.waitUntilBooted(timeout: .seconds(60)) != nil, "the simulated board did not boot")
        return sim
    }

    /// A board file: the standalone simulator in `simDir` reached only over ssh, its power the
    /// server's power commands.
    static func writeLabBoard(_ server: SshServer, simDir: String, in dir: String, sshdComesBack: Bool = true) throws -> (board: String, relay: String) {
        let relay = "\(dir)/relay"
        let power = try server.powerCommands(simDir: simDir, sshdComesBack: sshdComesBack)
        let path = "\(dir)/board-lab.yaml"
        try """
        name: lab-over-ssh
        link: {ssh: root@127.0.0.1, device: \(simDir)/ttyRPMSG30, ssh_options: \(server.clientOptionsYAML)}
        kernel_log: {source: ssh, path: \(simDir)/kmsg}
        power:
          kind: command
          on: "echo on >> \(relay); \(power.on)"
          off: "echo off >> \(relay); \(power.off)"
          timeout: 10s
          off_time: 300ms
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, relay)
    }

    static func writeProfile(in dir: String, duration: String, rate: Int, criteria: String = "{hangs: 1000, min_echoed: 100}",
                             maxFailures: Int = 3) throws -> String {
        let path = "\(dir)/lab-night.yaml"
        try """
        name: lab-night
        seed: 5
        report_interval: 5s
        link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 2s, open_timeout: 30s}
        phases:
          - {name: steady, duration: \(duration), rate: \(rate), size: 64, window: 4}
        recovery:
          ladder: [power-cycle]
          max_recoveries: 1000
          max_consecutive_failures: \(maxFailures)
          probe_timeout: 5s
          boot_timeout: 20s
        criteria: \(criteria)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Seed 596 draws the M7's kick halts 18.0, 21.8, 22.5, 9.3, 15.2, 6.9, 23.3, 10.0, 16.8 s
    /// after each power-on (FaultClock, exponential, mean 20 s): 10 failures with 1.5 s
    /// recoveries, still 8 if a busy machine made each take 6 s; none so early after power-on
    /// that a slow recovery's probe could meet it.
    @Test func threeMinutesOfKickHaltsOverSshAreEachRecoveredByAPowerCycleAndTheMtbfIsTheFirmwares() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await offPool { try Self.startSim(in: simDir, seed: 596, faults: "kick-halt:mtbf=20s") }
        defer { sim.stop() }
        let lab = try Self.writeLabBoard(server, simDir: simDir, in: dir)
        let profile = try Self.writeProfile(in: dir, duration: "180s", rate: 20)
        let r = try await Harness.run(["run", profile, "--board", lab.board, "--out", dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let rel = try #require(summary["reliability"] as? [String: Any])
        let failures = rel["failures"] as? Int ?? 0
        #expect(failures >= 5, "\(rel)")
        #expect(rel["recoveries"] as? Int == failures, "every failure recovered: \(rel)")
        #expect((rel["recovered_by"] as? [String: Int])?["power-cycle"] == failures)
        let lower = rel["mtbf_lower95"] as? Double ?? .infinity
        let upper = rel["mtbf_upper95"] as? Double ?? 0
        #expect(lower <= 20 && 20 <= upper, "the MTBF's 95% interval holds the firmware's 20 s: \(rel)")
        let totals = try r.totals()
        #expect(totals["lost"] == 0 && totals["corrupted"] == 0 && totals["duplicated"] == 0 && totals["out_of_order"] == 0, "\(totals)")
        #expect((totals["echoed"] ?? 0) + (totals["unanswered"] ?? 0) == totals["sent"], "every message echoed or died with a link: \(totals)")
        // Each recovery switched the power off and on by the command on this host.
        let switched = try String(contentsOfFile: lab.relay, encoding: .utf8).split(separator: "\n")
        #expect(switched.filter { $0 == "off" }.count == failures && switched.last == "on", "\(switched)")
        #expect(summary["network"] != nil)
        // Each power cycle waited for the board's sshd before its tty, on the timeline.
        let events = try String(contentsOfFile: "\(r.runFolder ?? "")/events.jsonl", encoding: .utf8)
        #expect(events.components(separatedBy: "wait for root@127.0.0.1 to answer ssh: succeeded").count - 1 == failures)
        // The board's kernel log, read over ssh across every power cycle: each failure is the
        // kick timeout the kernel reported, diagnosed as a halted core.
        let linkFailures = try #require(summary["link_failures"] as? [[String: Any]])
        for f in linkFailures {
            let d = f["diagnosis"] as? String ?? ""
            #expect(d.contains("kick timeout on vq 1"), "\(d)")
        }
    }

    @Test func aConnectionKilledMidRunIsRecordedAsLostAndRecoveredAndTheSoakGoesOn() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await offPool { try Self.startSim(in: simDir, seed: 22) }
        defer { sim.stop() }
        let lab = try Self.writeLabBoard(server, simDir: simDir, in: dir)
        let profile = try Self.writeProfile(in: dir, duration: "20s", rate: 20)
        let soak = try await Harness.start(["run", profile, "--board", lab.board, "--out", dir])
        defer { Harness.kill9(soak) }
        let killed = try await Harness.whenUnderWay(soak, intervals: 1, seconds: 90) {
            for pid in server.connectionProcesses() { kill(pid, SIGKILL) }
        }
        try #require(killed != nil, "the soak did not get under way")
        let r = await Harness.finish(soak)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let failures = try #require(summary["link_failures"] as? [[String: Any]])
        #expect(failures.count == 1, "\(failures)")
        #expect(failures.first?["kind"] as? String == "link_lost")
        #expect((failures.first?["reason"] as? String ?? "").contains("connection to the board lost"), "\(failures)")
        let rel = try #require(summary["reliability"] as? [String: Any])
        #expect(rel["recoveries"] as? Int == 1, "\(rel)")
        // The soak went on after the recovery: echoes after the failure.
        let at = failures.first?["at_seconds"] as? Double ?? 20
        let before = failures.first?["messages_before"] as? Int ?? 0
        let totals = try r.totals()
        #expect(at < 18 && (totals["echoed"] ?? 0) > before + 20, "echoes after the recovery: \(totals), failure at \(at) s after \(before)")
    }

    @Test func aBoardWhoseSshdNeverComesBackEndsAsAnInfrastructureErrorWithThePowerOn() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await offPool { try Self.startSim(in: simDir, seed: 23, faults: "kick-halt:mtbf=2s") }
        defer { sim.stop() }
        let lab = try Self.writeLabBoard(server, simDir: simDir, in: dir, sshdComesBack: false)
        let profile = try Self.writeProfile(in: dir, duration: "60s", rate: 20, maxFailures: 1)
        try String(contentsOfFile: profile, encoding: .utf8).replacingOccurrences(of: "boot_timeout: 20s", with: "boot_timeout: 4s")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", lab.board, "--out", dir])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        #expect(summary["end_reason"] as? String == "infrastructure", "\(summary["end_reason"] ?? "")")
        let detail = summary["end_detail"] as? String ?? ""
        #expect(detail.contains("root@127.0.0.1") && detail.contains("Connection refused"), "the reason names the board and what ssh said: \(detail)")
        let events = try String(contentsOfFile: "\(r.runFolder ?? "")/events.jsonl", encoding: .utf8)
        #expect(events.contains("wait for root@127.0.0.1 to answer ssh: failed"), "the power cycle waited for sshd, in vain")
        // The board is left as declared (on_exit: on): the last command was on.
        let switched = try String(contentsOfFile: lab.relay, encoding: .utf8).split(separator: "\n")
        #expect(switched.last == "on", "\(switched)")
    }
}
