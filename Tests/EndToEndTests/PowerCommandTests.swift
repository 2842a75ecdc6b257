import Foundation
import Testing

/// `rpmsg-soak power` and `rpmsg-soak devices` as a person uses them.
struct PowerCommandTests {
    @Test func powerCycleRunsOffThenOnAndStatusReadsTheStatusCommand() async throws {
        let dir = Harness.tempDir()
        let state = "\(dir)/relay"
        let board = "\(dir)/board.yaml"
        try """
        name: relay-board
        link: {device: /dev/ttyRPMSG30}
        power:
          kind: command
          on: "echo on >> \(state)"
          off: "echo off >> \(state)"
          status: "tail -n 1 \(state) | grep -qx on"
          timeout: 5s
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let cycle = try await Harness.run(["power", "cycle", "--board", board, "--off-time", "100ms"])
        #expect(cycle.status == 0, "\(cycle.stderr)")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "off\non\n")
        let on = try await Harness.run(["power", "status", "--board", board])
        #expect(on.status == 0 && on.stdout.contains("on"))
        _ = try await Harness.run(["power", "off", "--board", board])
        let off = try await Harness.run(["power", "status", "--board", board])
        #expect(off.status == 1 && off.stdout.contains("off"))
    }

    @Test func aFailingOffCommandLeavesTheBoardPoweredOn() async throws {
        let dir = Harness.tempDir()
        let state = "\(dir)/relay"
        let board = "\(dir)/board.yaml"
        try """
        name: relay-board
        link: {device: /dev/ttyRPMSG30}
        power: {kind: command, on: "echo on >> \(state)", off: "exit 4", timeout: 5s}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["power", "cycle", "--board", board])
        #expect(r.status == 3)
        #expect(r.stderr.contains("exit status 4"), "\(r.stderr)")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "on\n", "switched back on")
    }

    @Test func aFailingOnCommandDoesNotClaimTheBoardIsOnAndStatusWithoutACommandIsNoAnswer() async throws {
        let dir = Harness.tempDir()
        let board = "\(dir)/board.yaml"
        try """
        name: relay-board
        link: {device: /dev/ttyRPMSG30}
        power: {kind: command, on: "exit 1", off: "true", timeout: 5s}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let on = try await Harness.run(["power", "on", "--board", board])
        #expect(on.status == 3)
        #expect(on.stderr.contains("rpmsg-soak power: on: power on command 'exit 1': exit status 1"), "\(on.stderr)")
        #expect(on.stdout.contains("power state unknown") && !on.stdout.contains("power left on"), "\(on.stdout)")
        let status = try await Harness.run(["power", "status", "--board", board])
        #expect(status.status == 2)
        #expect(status.stderr.contains("no status command"), "\(status.stderr)")
    }

    @Test func aBoardWithNothingToSwitchIsAConfigurationError() async throws {
        let r = try await Harness.run(["power", "cycle", "--board", Harness.packageRoot.appendingPathComponent("profiles/boards/sim.yaml").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("power.kind is sim: nothing to switch from here"), "\(r.stderr)")
    }

    @Test func aGpioRelayOnAMachineWithoutThatChipIsAnInfrastructureErrorNamingIt() async throws {
        // No GPIO chip on this machine: the real relay is tested in QEMU (scripts/gpio-sim-test).
        let board = "\(Harness.tempDir())/relay.yaml"
        try """
        name: relay
        link: {device: /dev/ttyRPMSG30}
        power: {kind: gpio, chip: no-such-chip, line: POWER_RELAY}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["power", "on", "--board", board])
        #expect(r.status == 3)
        #expect(r.stderr.contains("no GPIO chip labelled 'no-such-chip'"), "\(r.stderr)")
    }

    @Test func devicesListsTtysWithABoardFileLine() async throws {
        let r = try await Harness.run(["devices", "--all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("/dev/") && r.stdout.contains("board file"), "\(r.stdout)")
    }
}
