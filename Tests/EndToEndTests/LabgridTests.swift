import BoardSimulator
import Foundation
import Glibc
import SoakCore
import TestSupport
import Testing

/// A soak on a labgrid place, against real labgrid (coordinator, exporter, client from PyPI),
/// Debian's ser2net and a real sshd, all on 127.0.0.1; the board is the simulated one, in the
/// test process. The run acquires the place, reads the UART through ser2net, reaches the tty and
/// kernel log over ssh to the place's NetworkService, power-cycles through labgrid's power
/// resource, and releases the place.
@Suite(.serialized, .enabled(if: !SshServer.missing && !LabgridLab.missing,
                             "needs sshd, ser2net and .test-venv (scripts/setup installs them)"))
struct LabgridTests {
    struct Lab {
        let server: SshServer
        let sim: SimulatedBoard
        let lab: LabgridLab
        let dir: String
        let board: String
        let profile: String

        func stop() {
            lab.stop()
            sim.stop()
            server.stop()
        }
    }

    static func start(faults: String, seed: UInt64, duration: String) throws -> Lab {
        let server = try SshServer.start()
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        var config = SimulatorConfig.default
        config.faults = try FaultSpec.parseList(faults)
        config.heartbeat = .milliseconds(500)
        let sim = SimulatedBoard(options: .init(config: config, seed: seed, directory: simDir))
        sim.start()
        guard sim.waitUntilBooted(timeout: .seconds(60)) != nil else { throw LabgridLab.Failure(description: "the simulated board did not boot") }
        let lab = try LabgridLab(simDir: simDir, ssh: server)
        // The place's NetworkService gives the port; the key and known_hosts are the user's.
        let options = server.clientOptions.filter { $0 != "-p" && $0 != "\(server.port)" }
        let board = "\(dir)/board-labgrid.yaml"
        try """
        name: labgrid-sim
        labgrid: {place: \(lab.place), coordinator: "\(lab.coordinator)", client: \(LabgridLab.client)}
        link: {device: \(simDir)/ttyRPMSG30, ssh_options: [\(options.map { "\"\($0)\"" }.joined(separator: ", "))]}
        kernel_log: {source: ssh, path: \(simDir)/kmsg}
        uart: {baud: 115200}
        power: {kind: labgrid, off_time: 300ms}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let profile = "\(dir)/labgrid-night.yaml"
        try """
        name: labgrid-night
        seed: 9
        report_interval: 2s
        link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 2s, open_timeout: 30s}
        phases:
          - {name: steady, duration: \(duration), rate: 20, size: 64, window: 4}
        recovery:
          ladder: [power-cycle]
          max_consecutive_failures: 3
          probe_timeout: 5s
          boot_timeout: 30s
        criteria: {hangs: 1000, min_echoed: 10}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        return Lab(server: server, sim: sim, lab: lab, dir: dir, board: board, profile: profile)
    }

    /// Seed 974 halts the M7 1.0 s after the simulator's first power-on, before the soak starts
    /// (the lab takes longer to set up): the run's first send meets the halt, whatever the
    /// machine's speed. The next halts come 14.4, 12.0, 12.7 s after each power-on: no probe
    /// meets one, however slow a recovery through labgrid is.
    @Test func aSoakOnALabgridPlaceRecoversThroughItsPowerReadsItsSerialPortAndReleasesIt() async throws {
        let l = try await offPool { try Self.start(faults: "kick-halt:mtbf=10s", seed: 974, duration: "25s") }
        defer { l.stop() }
        let check = try await Harness.run(["check", l.profile, "--board", l.board])
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
        #expect(check.stdout.contains("labgrid: found NetworkService NetworkService (address 127.0.0.1"), "\(check.stdout)")
        #expect(check.stdout.contains("labgrid: found NetworkSerialPort RawSerialPort"), "\(check.stdout)")
        #expect(check.stdout.contains("labgrid: found NetworkPowerPort"), "\(check.stdout)")
        #expect(check.stdout.contains("ssh: root@127.0.0.1 reachable"), "\(check.stdout)")
        #expect(try l.lab.who().contains(l.lab.place) == false, "check released the place")

        let r = try await Harness.run(["run", l.profile, "--board", l.board, "--out", l.dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let rel = try #require(summary["reliability"] as? [String: Any])
        let failures = rel["failures"] as? Int ?? 0
        #expect(failures >= 1 && rel["recoveries"] as? Int == failures, "\(rel)")
        #expect((rel["recovered_by"] as? [String: Int])?["power-cycle"] == failures)
        // Each power cycle went through labgrid to the relay: off, on (a cycle whose probe met
        // another halt at once is tried again: one per attempt).
        #expect(l.lab.relayLog.filter { $0 == "off" }.count == rel["recovery_attempts"] as? Int, "\(l.lab.relayLog) \(rel)")
        #expect(l.lab.relayLog.last == "on")
        let folder = r.runFolder ?? ""
        let uart = try String(contentsOfFile: "\(folder)/uart.log", encoding: .utf8)
        #expect(uart.contains("heartbeat"), "the M7 UART came through ser2net: \(uart.prefix(500))")
        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(events.contains("labgrid place \(l.lab.place) at \(l.lab.coordinator) acquired"))
        #expect(events.contains("labgrid place \(l.lab.place) at \(l.lab.coordinator) released"))
        #expect(events.contains("power off (labgrid \(l.lab.place)): succeeded"))
        #expect(try l.lab.who().contains(l.lab.place) == false, "the run released the place")
    }

    @Test func aSigtermedRunReleasesThePlace() async throws {
        let l = try await offPool { try Self.start(faults: "drop:mtbf=1h", seed: 42, duration: "60s") }
        defer { l.stop() }
        let soak = try await Harness.start(["run", l.profile, "--board", l.board, "--out", l.dir])
        defer { Harness.kill9(soak) }
        let held = try await Harness.whenUnderWay(soak, intervals: 1, seconds: 120) {
            kill(soak.processIdentifier, SIGTERM)
        }
        try #require(held != nil, "the soak did not get under way")
        let r = await Harness.finish(soak)
        #expect(r.status == 130, "\(r.stdout)\n\(r.stderr)")
        let who = try l.lab.who()
        #expect(who.contains(l.lab.place) == false, "released after SIGTERM: \(who)")
    }

    @Test func aPlaceReservedByItsTagsIsWaitedForUsedAndGivenBack() async throws {
        let l = try await offPool { try Self.start(faults: "drop:mtbf=1h", seed: 44, duration: "4s") }
        defer { l.stop() }
        let tagged = try l.lab.run(["-p", l.lab.place, "set-tags", "board=imx8mp-sim"])
        try #require(tagged.status == .exited(0), "\(tagged.errors)")
        let r = try await Harness.run(["run", l.profile, "--board", l.board, "--out", l.dir, "--reserve", "board=imx8mp-sim"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let events = try String(contentsOfFile: "\(r.runFolder ?? "")/events.jsonl", encoding: .utf8)
        #expect(events.contains("labgrid place \(l.lab.place) at \(l.lab.coordinator) (reservation "), "\(events.prefix(3000))")
        #expect(events.contains("cancelled"), "the reservation is given back")
        let reservations = try l.lab.run(["reservations"]).output
        #expect(!reservations.contains("owner"), "no reservation left: \(reservations)")
        #expect(try l.lab.who().contains(l.lab.place) == false)
        let none = try await Harness.run(["run", l.profile, "--board", l.board, "--out", l.dir, "--reserve", "board=no-such", "--reserve-timeout", "3s"])
        #expect(none.status == 3 && none.stderr.contains("no place with board=no-such became free within 3s"), "\(none.stdout)\n\(none.stderr)")
        let left = try l.lab.run(["reservations"]).output
        #expect(!left.contains("no-such"), "the reservation that was not allocated is cancelled: \(left)")
    }

    @Test func aPlaceSomeoneElseHoldsIsAnInfrastructureErrorAndIsLeftAlone() async throws {
        let l = try await offPool { try Self.start(faults: "drop:mtbf=1h", seed: 43, duration: "5s") }
        defer { l.stop() }
        // Another user holds it (LG_USERNAME is labgrid's own way to act as someone else).
        setenv("LG_USERNAME", "colleague", 1)
        let acquired = try l.lab.run(["-p", l.lab.place, "acquire"])
        unsetenv("LG_USERNAME")
        try #require(acquired.status == .exited(0), "\(acquired.errors)")
        let r = try await Harness.run(["run", l.profile, "--board", l.board, "--out", l.dir])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("is acquired by") && r.stderr.contains("colleague"), "\(r.stderr)")
        #expect(try l.lab.who().contains("colleague"), "still theirs")
    }
}
