import Foundation
import Testing
@testable import SoakCore

/// `power: {kind: lava}`, `uart: {command: ...}`, what they take from LAVA's environment, and a
/// reset-only switch under PowerControl. No LAVA here: the environment is a dictionary.
@Suite("LAVA: board file, timeline JSON, environment")
struct LavaConfigTests {
    let head = "name: lava-board\nlink: {device: /dev/ttyRPMSG30}\n"

    @Test("power kind lava takes a timeout and the shared keys; its commands come from the environment")
    func lavaPower() throws {
        let board = try ConfigLoader.parseBoard(text: head + "power: {kind: lava, timeout: 90s, off_time: 3s, on_exit: as-is}\n", file: "b.yaml")
        let p = try #require(board.power)
        #expect(p.kind == .lava)
        #expect(p.via == .lava(LavaPowerConfig(timeout: .seconds(90))))
        #expect(p.offTime == .seconds(3) && p.onExit == .asIs)
        #expect(p.standsAlone)
        #expect(p.summary.contains("LAVA_POWER_ON_COMMAND") && p.summary.contains("LAVA_HARD_RESET_COMMAND"))
        let defaults = try ConfigLoader.parseBoard(text: head + "power: {kind: lava}\n", file: "b.yaml")
        #expect(defaults.power?.via == .lava(LavaPowerConfig(timeout: .seconds(30))))
    }

    @Test("a command key on a lava power block is an error that says where the commands come from")
    func lavaPowerWithCommands() {
        let e = boardError(head + "power: {kind: lava, on: relay-on}\n")
        #expect(e?.key == "power.on")
        #expect(e?.message.contains("'on' does not apply to power kind 'lava'") == true)
        #expect(e?.message.contains("LAVA_POWER_ON_COMMAND") == true)
    }

    @Test("uart: {command: lava} and {command: \"telnet ...\"}; a command beside a device is an error")
    func uartCommand() throws {
        let lava = try ConfigLoader.parseBoard(text: head + "uart: {command: lava, ready: 'String Echo'}\n", file: "b.yaml")
        #expect(lava.uart?.location == .command(.lava))
        #expect(lava.uart?.ready == "String Echo")
        let telnet = try ConfigLoader.parseBoard(text: head + "uart: {command: \"telnet localhost 7001\"}\n", file: "b.yaml")
        #expect(telnet.uart?.location == .command(.shell("telnet localhost 7001")))
        #expect(boardError(head + "uart: {command: lava, device: /dev/ttyUSB2}\n")?.message.contains("give one of device, match or command") == true)
        #expect(boardError(head + "uart: {command: \"  \"}\n")?.message.contains("'lava'") == true)
        #expect(boardError(head + "uart: {baud: 115200}\n")?.message.contains("or a command") == true)
    }

    @Test("lava power and a command UART round-trip through the timeline's flat JSON")
    func roundTrip() throws {
        var board = try ConfigLoader.parseBoard(text: head + "uart: {command: lava}\npower: {kind: lava, timeout: 45s, on_exit: off}\n", file: "b.yaml")
        let json = try BoardTimelineCompatibilityTests.timelineJSON(board)
        #expect(json.contains(#""power":{"kind":"lava","on_exit":"off","timeout":"45s"}"#), "\(json)")
        #expect(json.contains(#""uart":{"baud":115200,"command":"lava","ready_timeout":"30s"}"#), "\(json)")
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(json) == board)
        board.uart?.location = .command(.shell("telnet localhost 7001"))
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(BoardTimelineCompatibilityTests.timelineJSON(board)) == board)
    }

    @Test("a lava power block without a timeout (hand-written JSON) decodes with the default")
    func decodesWithoutTimeout() throws {
        let json = #"{"kernel_log":{"source":"none"},"link":{"device":"/dev/ttyRPMSG30","setup":[],"setup_timeout":"30s"},"name":"l","power":{"kind":"lava"}}"#
        let board = try BoardTimelineCompatibilityTests.decodeTimelineBoard(json)
        #expect(board.power == PowerConfig(.lava(LavaPowerConfig())))
    }

    @Test("on and off when both are set; the hard reset alone otherwise; an empty value is not set")
    func powerCommands() throws {
        let both = LavaEnvironment(["LAVA_POWER_ON_COMMAND": "pdu on 3", "LAVA_POWER_OFF_COMMAND": "pdu off 3",
                                    "LAVA_HARD_RESET_COMMAND": "pdu reboot 3"])
        let b = try both.powerCommands(onExit: .off)
        #expect(b.on == "pdu on 3" && b.off == "pdu off 3" && !b.resetOnly)
        let reset = LavaEnvironment(["LAVA_POWER_ON_COMMAND": "pdu on 3", "LAVA_POWER_OFF_COMMAND": " ",
                                     "LAVA_HARD_RESET_COMMAND": "pdu reboot 3 && sleep 5"])
        let r = try reset.powerCommands(onExit: .on)
        #expect(r.resetOnly && r.on == nil && r.off == nil && r.hardReset == "pdu reboot 3 && sleep 5")
    }

    @Test("what is missing names the variables")
    func missing() {
        #expect(throws: LavaEnvironment.Missing.self) { try LavaEnvironment([:]).powerCommands(onExit: .on) }
        do {
            _ = try LavaEnvironment(["LAVA_POWER_ON_COMMAND": "on"]).powerCommands(onExit: .on)
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("LAVA_POWER_OFF_COMMAND is not set, nor LAVA_HARD_RESET_COMMAND"), "\(error)")
        }
        do {
            _ = try LavaEnvironment(["LAVA_HARD_RESET_COMMAND": "reset"]).powerCommands(onExit: .off)
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("on_exit: off needs LAVA_POWER_OFF_COMMAND"), "\(error)")
        }
        do {
            _ = try LavaEnvironment([:]).connectionCommand()
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("LAVA_CONNECTION_COMMAND is not set"), "\(error)")
        }
    }

    @Test("problems and the check report cover only what the board file takes from the environment")
    func problemsAndReport() throws {
        let board = try ConfigLoader.parseBoard(text: head + "uart: {command: lava}\npower: {kind: lava}\n", file: "b.yaml")
        let env = LavaEnvironment(["LAVA_HARD_RESET_COMMAND": "reset"])
        let problems = env.problems(for: board)
        #expect(problems.count == 1 && problems[0].contains("LAVA_CONNECTION_COMMAND"), "\(problems)")
        let report = env.report(for: board)
        #expect(report.contains("LAVA_HARD_RESET_COMMAND set: reset"))
        #expect(report.contains("LAVA_POWER_ON_COMMAND not set") && report.contains("LAVA_CONNECTION_COMMAND not set"))
        #expect(report.contains { $0.hasPrefix("power: a cycle is LAVA_HARD_RESET_COMMAND") }, "\(report)")
        let plain = try ConfigLoader.parseBoard(text: head + "power: {kind: command, on: a, off: b}\n", file: "b.yaml")
        #expect(LavaEnvironment([:]).problems(for: plain).isEmpty && LavaEnvironment([:]).report(for: plain).isEmpty)
    }
}

/// A switch that can only cycle (LAVA's hard reset alone), recording what it was told.
final class ResetOnlySwitchMock: PowerSwitch {
    let name = "reset-only mock"
    var actions: [String] = []
    var failReset = false
    var resetOnly: Bool { true }
    func on() throws(RecoveryFailure) { actions.append("on") }
    func off() throws(RecoveryFailure) { actions.append("off") }
    func hardReset() throws(RecoveryFailure) {
        actions.append("reset")
        if failReset { throw RecoveryFailure("reset failed") }
    }
    func release() { actions.append("release") }
}

@Suite("PowerControl with a reset-only switch (recording mock)")
struct ResetOnlyPowerControlTests {
    @Test("a cycle is the reset, with no wait of its own; finish after it does nothing")
    func cycleIsTheReset() throws {
        let sw = ResetOnlySwitchMock()
        let control = PowerControl(sw, onExit: .on, knownOn: true)
        var waited = false
        try control.cycle(offTime: .seconds(3)) { _ in waited = true; return true }
        #expect(!waited && control.lastSwitched == true)
        #expect(try control.finish() == nil)
        #expect(sw.actions == ["reset", "release"])
    }

    @Test("on and off are refused without touching the switch")
    func noOnNoOff() {
        let sw = ResetOnlySwitchMock()
        let control = PowerControl(sw, onExit: .on, knownOn: true)
        #expect(throws: RecoveryFailure.self) { try control.on() }
        #expect(throws: RecoveryFailure.self) { try control.off() }
        #expect(sw.actions.isEmpty)
    }

    @Test("after a failed reset, finish with on_exit on resets once more; with as-is it leaves it")
    func failedReset() throws {
        let sw = ResetOnlySwitchMock()
        sw.failReset = true
        let control = PowerControl(sw, onExit: .on, knownOn: true)
        #expect(throws: RecoveryFailure.self) { try control.hardReset() }
        #expect(control.lastSwitched == nil)
        sw.failReset = false
        #expect(try control.finish() == "power reset again after a failed reset, to leave it on (on_exit: on)")
        #expect(sw.actions == ["reset", "reset", "release"])

        let asIs = ResetOnlySwitchMock()
        asIs.failReset = true
        let c2 = PowerControl(asIs, onExit: .asIs, knownOn: true)
        #expect(throws: RecoveryFailure.self) { try c2.cycle(offTime: .seconds(1)) { _ in true } }
        #expect(try c2.finish() == nil)
        #expect(asIs.actions == ["reset", "release"])
    }
}

@Suite("TelnetFilter")
struct TelnetFilterTests {
    func run(_ chunks: [[UInt8]]) -> [UInt8] {
        var f = TelnetFilter()
        return chunks.flatMap { f.filter($0) }
    }

    @Test("plain text passes unchanged")
    func plain() {
        #expect(run([Array("ASSERT ERROR\r\n".utf8)]) == Array("ASSERT ERROR\r\n".utf8))
    }

    @Test("negotiation triplets, sub-negotiations and other commands are dropped; IAC IAC is one 0xFF")
    func dropsCommands() {
        // IAC WILL ECHO, IAC DO SGA, IAC SB TTYPE SEND IAC SE, IAC NOP, IAC IAC.
        let bytes: [UInt8] = [0xFF, 0xFB, 0x01] + Array("ab".utf8) + [0xFF, 0xFD, 0x03, 0xFF, 0xFA, 0x18, 0x01, 0xFF, 0xF0]
            + Array("c".utf8) + [0xFF, 0xF1] + [0xFF, 0xFF] + Array("d\n".utf8)
        #expect(run([bytes]) == Array("abc".utf8) + [0xFF] + Array("d\n".utf8))
    }

    @Test("a sequence split across reads is still dropped, an IAC inside a sub-negotiation too")
    func splitAcrossReads() {
        let chunks: [[UInt8]] = [Array("x".utf8) + [0xFF], [0xFB], [0x01] + Array("y".utf8), [0xFF, 0xFA, 0x1F, 0xFF, 0xFF, 0x00], [0x50, 0xFF], [0xF0] + Array("z".utf8)]
        #expect(run(chunks) == Array("xyz".utf8))
    }
}
