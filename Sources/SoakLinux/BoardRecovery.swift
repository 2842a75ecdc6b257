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

/// Recovery steps on a board reached through a tty: reopen it, or cycle the power and wait for
/// the tty to come back (running the board's setup commands again).
public final class TtyBoardControl: BoardControl {
    let devicePath: () -> String?
    let power: PowerSwitch?
    let setup: () throws -> Void
    let reopenTimeout: SoakDuration

    /// - devicePath: where the tty is now (a simulator's path may change after a power cycle).
    public init(devicePath: @escaping () -> String?, power: PowerSwitch?, reopenTimeout: SoakDuration = .seconds(5),
                setup: @escaping () throws -> Void = {}) {
        self.devicePath = devicePath
        self.power = power
        self.setup = setup
        self.reopenTimeout = reopenTimeout
    }

    public func supports(_ step: RecoveryPolicy.Step) -> Bool {
        switch step {
        case .reopen: return true
        case .powerCycle: return power != nil
        }
    }

    public func perform(_ step: RecoveryPolicy.Step, policy: RecoveryPolicy, closing old: Link) -> Result<Link, RecoveryFailure> {
        old.close()
        switch step {
        case .reopen:
            return open(timeout: reopenTimeout)
        case .powerCycle:
            guard let power else { return .failure(RecoveryFailure("no power switch")) }
            do {
                try power.off()
                usleep(UInt32(min(policy.offTime.nanoseconds / 1000, UInt64(UInt32.max))))
                try power.on()
            } catch {
                // Whatever happened, the board is not left off by us.
                try? power.on()
                return .failure(error)
            }
            do { try setup() } catch { return .failure(RecoveryFailure("setup after power-on: \(error)")) }
            return open(timeout: policy.bootTimeout)
        }
    }

    private func open(timeout: SoakDuration) -> Result<Link, RecoveryFailure> {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            if let path = devicePath() {
                let left = deadline > MonotonicClock.read() ? deadline - MonotonicClock.read() : 0
                do {
                    return .success(try TtyLink.open(path: path, timeout: SoakDuration(nanoseconds: left)))
                } catch {
                    return .failure(RecoveryFailure("\(error)"))
                }
            }
            if MonotonicClock.read() >= deadline { return .failure(RecoveryFailure("the tty did not come back within \(timeout)")) }
            usleep(20_000)
        }
    }
}
