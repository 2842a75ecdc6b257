import Foundation
import Glibc
import SoakCore

/// Power through shell commands (a USB relay, a PDU, `uhubctl`, `labgrid-client power`,
/// pdudaemon, a LAVA device dictionary's commands), each run with /bin/sh -c and a deadline.
/// Either on and off, or (LAVA's `hard_reset_command` alone) only a reset: then the switch is
/// `resetOnly` and PowerControl cycles it with the reset.
public final class CommandPowerSwitch: PowerSwitch {
    public let name: String
    let onCommand: String?
    let offCommand: String?
    let resetCommand: String?
    let timeout: SoakDuration

    public init(on: String, off: String, timeout: SoakDuration) {
        name = "command"
        onCommand = on
        offCommand = off
        resetCommand = nil
        self.timeout = timeout
    }

    /// On and off when both are given, else the reset alone (which must then be given).
    public init(name: String, on: String?, off: String?, reset: String?, timeout: SoakDuration) {
        self.name = name
        if let on, let off {
            onCommand = on
            offCommand = off
        } else {
            onCommand = nil
            offCommand = nil
        }
        resetCommand = reset
        self.timeout = timeout
    }

    public var resetOnly: Bool { onCommand == nil }

    public func on() throws(RecoveryFailure) { try run(onCommand, "on") }
    public func off() throws(RecoveryFailure) { try run(offCommand, "off") }
    public func hardReset() throws(RecoveryFailure) { try run(resetCommand, "hard reset") }

    private func run(_ command: String?, _ what: String) throws(RecoveryFailure) {
        guard let command else { throw RecoveryFailure("power \(name): no \(what) command") }
        do {
            try SetupCommands.run([command], timeout: timeout, what: "power \(what) command")
        } catch {
            throw RecoveryFailure("\(error)")
        }
    }
}
