import Foundation
import Testing
@testable import SoakCore

/// A switch that records what it was told and can be made to fail: PowerControl's policy is
/// pure logic. The real switches (gpio on gpio-sim in QEMU, command, sim) are tested elsewhere.
final class RecordingPowerSwitchMock: PowerSwitch {
    let name = "recording mock"
    var actions: [String] = []
    var failOff = false
    var failOn = false

    func on() throws(RecoveryFailure) {
        actions.append("on")
        if failOn { throw RecoveryFailure("on failed") }
    }
    func off() throws(RecoveryFailure) {
        actions.append("off")
        if failOff { throw RecoveryFailure("off failed") }
    }
    func release() { actions.append("release") }
}

@Suite("PowerControl (recording switch mock)")
struct PowerControlTests {
    @Test("a cycle is off, wait, on; finish with on_exit on changes nothing after it")
    func cycle() throws {
        let sw = RecordingPowerSwitchMock()
        let control = PowerControl(sw, onExit: .on, knownOn: true)
        var waited: [SoakDuration] = []
        try control.cycle(offTime: .seconds(3)) { waited.append($0); return true }
        #expect(waited == [.seconds(3)])
        #expect(try control.finish() == nil)
        #expect(sw.actions == ["off", "on", "release"])
    }

    @Test("an interrupted cycle stops with power off and finish switches it on once")
    func interruptedCycle() throws {
        let sw = RecordingPowerSwitchMock()
        let control = PowerControl(sw, onExit: .on, knownOn: true)
        #expect(throws: RecoveryFailure.self) { try control.cycle(offTime: .seconds(60)) { _ in false } }
        #expect(sw.actions == ["off"])
        #expect(try control.finish() == "power switched on (on_exit: on)")
        #expect(try control.finish() == nil)
        #expect(sw.actions == ["off", "on", "release"])
    }

    @Test("an interrupted cycle of a board declared off stays off, without an on in between")
    func interruptedCycleDeclaredOff() throws {
        let sw = RecordingPowerSwitchMock()
        let control = PowerControl(sw, onExit: .off, knownOn: true)
        #expect(throws: RecoveryFailure.self) { try control.cycle(offTime: .seconds(60)) { _ in false } }
        #expect(try control.finish() == nil)
        #expect(sw.actions == ["off", "release"])
    }

    @Test("a failed off switches power back on and reports the failure")
    func failedOff() {
        let sw = RecordingPowerSwitchMock()
        sw.failOff = true
        let control = PowerControl(sw, onExit: .on)
        #expect(throws: RecoveryFailure.self) { try control.cycle(offTime: .seconds(1)) { _ in true } }
        #expect(sw.actions == ["off", "on"])
        #expect(control.lastSwitched == true)
    }

    @Test("a switch never used is left as found with on_exit on, and switched off with on_exit off")
    func untouched() throws {
        let a = RecordingPowerSwitchMock()
        #expect(try PowerControl(a, onExit: .on).finish() == nil)
        #expect(a.actions == ["release"])
        let b = RecordingPowerSwitchMock()
        #expect(try PowerControl(b, onExit: .off).finish() == "power switched off (on_exit: off)")
        #expect(b.actions == ["off", "release"])
        let c = RecordingPowerSwitchMock()
        let control = PowerControl(c, onExit: .asIs)
        try control.off()
        #expect(try control.finish() == nil)
        #expect(c.actions == ["off", "release"])
    }

    @Test("a failing finish still releases the switch")
    func failingFinish() {
        let sw = RecordingPowerSwitchMock()
        let control = PowerControl(sw, onExit: .on)
        try? control.off()
        sw.failOn = true
        #expect(throws: RecoveryFailure.self) { try control.finish() }
        #expect(sw.actions.last == "release")
    }
}

@Suite("Board file: power")
struct BoardPowerConfigTests {
    let head = "name: b\nlink: {device: /dev/ttyRPMSG30}\n"

    @Test("a gpio relay with every key")
    func gpioRelay() throws {
        let board = try ConfigLoader.parseBoard(text: head + """
            power:
              kind: gpio
              chip: 30220000.gpio
              line: M7_POWER
              active_low: true
              off_time: 3s
              settle_time: 500ms
              on_exit: off
            """, file: "b.yaml")
        let p = try #require(board.power)
        #expect(p.kind == .gpio)
        #expect(p.via == .gpio(GpioRelayConfig(chip: "30220000.gpio", line: "M7_POWER", activeLow: true)))
        #expect(p.offTime == .seconds(3))
        #expect(p.settleTime == .milliseconds(500))
        #expect(p.onExit == .off)
    }

    @Test("gpio defaults: active high, board left on, the profile's off time")
    func gpioDefaults() throws {
        let board = try ConfigLoader.parseBoard(text: head + "power: {kind: gpio, chip: gpiochip2, line: 7}\n", file: "b.yaml")
        #expect(board.power?.via == .gpio(GpioRelayConfig(chip: "gpiochip2", line: "7", activeLow: false)))
        #expect(board.power?.onExit == .on)
        #expect(board.power?.offTime == nil)
    }

    @Test("mistakes in a power block name file, line, column and key")
    func errors() {
        let missingLine = boardError(head + "power:\n  kind: gpio\n  chip: gpiochip0\n")
        #expect(missingLine?.description.contains("board.yaml:4:3: power.line: missing required key") == true)
        
        let commandKeyOnGpio = boardError(head + "power:\n  kind: gpio\n  chip: gpiochip0\n  line: 1\n  on: relay-on\n")
        #expect(commandKeyOnGpio?.line == 7)
        #expect(commandKeyOnGpio?.key == "power.on")
        #expect(commandKeyOnGpio?.message.contains("'on' does not apply to power kind 'gpio'") == true)
        let gpioKeyOnCommand = boardError(head + "power:\n  kind: command\n  on: a\n  off: b\n  chip: gpiochip0\n")
        #expect(gpioKeyOnCommand?.message.contains("'chip' does not apply to power kind 'command'") == true)
        let badBool = boardError(head + "power: {kind: gpio, chip: c, line: 1, active_low: maybe}\n")
        #expect(badBool?.message.contains("expected true or false") == true)
        let badExit = boardError(head + "power: {kind: gpio, chip: c, line: 1, on_exit: sometimes}\n")
        #expect(badExit?.message.contains("expected one of: on, off, as-is") == true)
        let badKind = boardError(head + "power: {kind: relay}\n")
        #expect(badKind?.message.contains("expected one of: sim, command, gpio, labgrid, lava, none") == true)
    }
}

@Suite("Board in a timeline")
struct BoardTimelineCompatibilityTests {
    @Test("a board written by the first version (no on_exit, ready_timeout, remoteproc) still decodes")
    func firstVersionBoardDecodes() throws {
        let json = """
            {"kernel_log":{"source":"sim"},"link":{"device":"sim","setup":[],"setup_timeout":"30s"},"name":"sim-kick",
             "power":{"kind":"sim","timeout":"30s"},
             "simulator":{"boot_time":"0s","faults":[{"down":"2s","kind":"kick-halt","mtbf":"20s","spike":"500ms"}],
                          "tty_needs_modprobe":false,"uart_baud":0},
             "uart":{"baud":115200,"device":"sim"}}
            """
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let board = try decoder.decode(BoardConfig.self, from: Data(json.utf8))
        #expect(board.power?.onExit == .on)
        #expect(board.uart?.readyTimeout == .seconds(30))
        #expect(board.remoteproc == nil && board.link.location == .simulated)
        #expect(board.simulator?.m7StartedByBootLoader == false)
        #expect(board.simulator?.faults.first?.kind == .kickHalt)
    }

    @Test("a board round-trips through the timeline's JSON")
    func roundTrip() throws {
        var board = BoardConfig.builtInSimulator
        board.power?.onExit = .off
        board.power?.via = .gpio(GpioRelayConfig(chip: "relaychip", line: "POWER_RELAY", activeLow: true))
        board.uart?.ready = "ready"
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        #expect(try decoder.decode(BoardConfig.self, from: encoder.encode(board)) == board)
    }

    /// Boards as the flat-field version (8795ceb) wrote them into run_start: the built-in
    /// simulator from a real `rpmsg-soak run profiles/smoke.yaml`, and board files with a gpio
    /// relay, power commands and a link by udev match or glob, encoded by that version.
    static let earlierBoards: [(name: String, json: String)] = [
        ("smoke run on the built-in simulator", #"""
        {"description":"built-in simulated i.MX8M Plus running the NXP string echo firmware","kernel_log":{"source":"sim"},"link":{"device":"sim","setup":[],"setup_timeout":"30s"},"name":"sim","power":{"kind":"sim","on_exit":"on","timeout":"30s"},"remoteproc":{"path":"sim","timeout":"10s"},"simulator":{"boot_time":"0s","faults":[],"m7_started_by_boot_loader":false,"tty_needs_modprobe":false,"uart_baud":115200},"uart":{"baud":115200,"device":"sim","ready_timeout":"30s"}}
        """#),
        ("gpio relay, UART by udev match, kernel log from a file", #"""
        {"description":"relay on the lab host","kernel_log":{"path":"/var/log/board-kmsg.log","source":"file"},"link":{"device":"/dev/ttyRPMSG30","setup":["modprobe imx_rpmsg_tty"],"setup_timeout":"10s"},"name":"bench-gpio","power":{"gpio":{"active_low":true,"chip":"30230000.gpio","line":"M7_POWER"},"kind":"gpio","off_time":"3s","on_exit":"off","settle_time":"1s","timeout":"30s"},"remoteproc":{"firmware":"m7.elf","path":"/sys/class/remoteproc/remoteproc0","timeout":"5s"},"uart":{"baud":115200,"match":{"ID_SERIAL_SHORT":"FT4232H-1234","ID_USB_INTERFACE_NUM":"02"},"ready":"String Echo FreeRTOS","ready_timeout":"20s"}}
        """#),
        ("power commands with status, link by udev match, UART by glob", #"""
        {"kernel_log":{"source":"none"},"link":{"device":"","match":{"DEVPATH":"*rpmsg-virtual-tty-channel*"},"setup":[],"setup_timeout":"30s"},"name":"bench-command","power":{"kind":"command","off_command":"uhubctl -l 1-1 -p 2 -a off","on_command":"uhubctl -l 1-1 -p 2 -a on","on_exit":"as-is","status_command":"uhubctl -l 1-1 -p 2 | grep -q power","timeout":"10s"},"uart":{"baud":921600,"device":"/dev/serial/by-id/usb-FTDI*-if02-port0","ready_timeout":"30s"}}
        """#),
        ("power commands without status, link by glob", #"""
        {"kernel_log":{"source":"kmsg"},"link":{"device":"/dev/ttyRPMSG*","setup":[],"setup_timeout":"30s"},"name":"local-glob","power":{"kind":"command","off_command":"relay-off","on_command":"relay-on","on_exit":"on","timeout":"30s"}}
        """#),
    ]

    /// The timeline's own settings (TimelineWriter): sorted keys make equal boards equal text.
    static func timelineJSON(_ board: BoardConfig) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(board), as: UTF8.self)
    }

    static func decodeTimelineBoard(_ json: String) throws -> BoardConfig {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BoardConfig.self, from: Data(json.utf8))
    }

    @Test("a board from an earlier timeline re-encodes to the same JSON", arguments: earlierBoards)
    func earlierBoardReencodes(_ sample: (name: String, json: String)) throws {
        let board = try Self.decodeTimelineBoard(sample.json)
        #expect(try Self.timelineJSON(board) == sample.json, "\(sample.name)")
    }

    @Test("earlier timelines' flat fields decode into the kinds they name")
    func earlierBoardsDecodeIntoKinds() throws {
        let boards = try Self.earlierBoards.map { try Self.decodeTimelineBoard($0.json) }
        #expect(boards[0] == BoardConfig.builtInSimulator)
        #expect(boards[1].power == PowerConfig(.gpio(GpioRelayConfig(chip: "30230000.gpio", line: "M7_POWER", activeLow: true)),
                                               offTime: .seconds(3), settleTime: .seconds(1), onExit: .off))
        #expect(boards[1].link.location == .local(.path("/dev/ttyRPMSG30")))
        #expect(boards[1].uart?.location == .local(.match(["ID_SERIAL_SHORT": "FT4232H-1234", "ID_USB_INTERFACE_NUM": "02"])))
        #expect(boards[1].kernelLog == .file(path: "/var/log/board-kmsg.log"))
        let commands = CommandPowerConfig(on: "uhubctl -l 1-1 -p 2 -a on", off: "uhubctl -l 1-1 -p 2 -a off",
                                          status: "uhubctl -l 1-1 -p 2 | grep -q power", timeout: .seconds(10))
        #expect(boards[2].power == PowerConfig(.command(commands), onExit: .asIs))
        #expect(boards[2].link.location == .local(.match(["DEVPATH": "*rpmsg-virtual-tty-channel*"])))
        #expect(boards[2].uart?.location == .local(.glob("/dev/serial/by-id/usb-FTDI*-if02-port0")))
        #expect(boards[2].kernelLog == .unwatched)
        #expect(boards[3].power?.via == .command(CommandPowerConfig(on: "relay-on", off: "relay-off")))
        #expect(boards[3].link.location == .local(.glob("/dev/ttyRPMSG*")) && boards[3].kernelLog == .kmsg)
    }
}
