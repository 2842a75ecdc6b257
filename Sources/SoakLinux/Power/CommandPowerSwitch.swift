import Foundation
import Glibc
import SoakCore

/// Power through shell commands (a USB relay, a PDU, `uhubctl`, `labgrid-client power`,
/// pdudaemon), each with a deadline.
public final class CommandPowerSwitch: PowerSwitch {
    public let name = "command"
    let onCommand: String
    let offCommand: String
    let timeout: SoakDuration

    public init(on: String, off: String, timeout: SoakDuration) {
        onCommand = on
        offCommand = off
        self.timeout = timeout
    }

    public func on() throws(RecoveryFailure) { try run(onCommand) }
    public func off() throws(RecoveryFailure) { try run(offCommand) }

    private func run(_ command: String) throws(RecoveryFailure) {
        do {
            try SetupCommands.run([command], timeout: timeout)
        } catch {
            throw RecoveryFailure("power \(error)")
        }
    }
}

