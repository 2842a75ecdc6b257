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

/// Recovery steps on a board reached through a tty: reopen it, restart the M7 through
/// remoteproc, or cycle the power; then wait for the tty to come back (running the board's
/// setup commands again after power-on).
public final class TtyBoardControl: BoardControl {
    let device: DeviceSpec
    let power: PowerControl?
    let powerConfig: PowerConfig?
    let remoteproc: Remoteproc?
    let remoteprocConfig: RemoteprocConfig?
    let setup: () throws -> Void
    let reopenTimeout: SoakDuration
    let interrupted: () -> Bool

    /// - device: the tty by path, glob or udev match (the simulated board's: its link in the run
    ///   folder), waited for after each step (udev: enumerate, then kernel uevents).
    /// - powerConfig: the board's off and settle times (the profile's off_time when it has none).
    /// - interrupted: a SIGINT/SIGTERM flag; a wait gives up when it is set.
    /// - remoteproc: the M7's sysfs directory (for the simulated board: its `remoteproc` folder).
    public init(device: DeviceSpec, power: PowerControl?, powerConfig: PowerConfig? = nil,
                remoteproc: Remoteproc? = nil, remoteprocConfig: RemoteprocConfig? = nil,
                reopenTimeout: SoakDuration = .seconds(5), interrupted: @escaping () -> Bool = { false },
                setup: @escaping () throws -> Void = {}) {
        self.device = device
        self.remoteproc = remoteproc
        self.remoteprocConfig = remoteprocConfig
        self.power = power
        self.powerConfig = powerConfig
        self.setup = setup
        self.reopenTimeout = reopenTimeout
        self.interrupted = interrupted
    }

    public func unavailable(_ step: RecoveryPolicy.Step) -> String? {
        switch step {
        case .reopen: return nil
        case .remoteprocRestart:
            guard let remoteproc else { return "the board file has no remoteproc block" }
            return remoteproc.unavailable()
        case .powerCycle: return power == nil ? "the board file has no power switch" : nil
        }
    }

    public func perform(_ step: RecoveryPolicy.Step, policy: RecoveryPolicy, closing old: Link) -> Result<Link, RecoveryFailure> {
        old.close()
        switch step {
        case .reopen:
            return open(timeout: reopenTimeout)
        case .remoteprocRestart:
            guard let remoteproc else { return .failure(RecoveryFailure("no remoteproc")) }
            do {
                try remoteproc.restart(firmware: remoteprocConfig?.firmware, timeout: remoteprocConfig?.timeout ?? .seconds(10),
                                       interrupted: interrupted)
            } catch {
                return .failure(error)
            }
            return open(timeout: policy.bootTimeout)
        case .powerCycle:
            guard let power else { return .failure(RecoveryFailure("no power switch")) }
            do {
                try power.cycle(offTime: powerConfig?.offTime ?? policy.offTime) { sleep($0, unless: interrupted) }
            } catch {
                return .failure(error)
            }
            if let settle = powerConfig?.settleTime, !sleep(settle, unless: interrupted) {
                return .failure(RecoveryFailure("interrupted"))
            }
            do { try setup() } catch { return .failure(RecoveryFailure("setup after power-on: \(error)")) }
            return open(timeout: policy.bootTimeout)
        }
    }

    private func open(timeout: SoakDuration) -> Result<Link, RecoveryFailure> {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        switch DeviceLocator.wait(device, timeout: timeout, interrupted: interrupted) {
        case .success(let path):
            let left = deadline > MonotonicClock.read() ? deadline - MonotonicClock.read() : 0
            do {
                return .success(try TtyLink.open(path: path, timeout: SoakDuration(nanoseconds: max(left, 100_000_000))))
            } catch {
                return .failure(RecoveryFailure("\(error)"))
            }
        case .failure(let e):
            return .failure(RecoveryFailure(interrupted() ? "interrupted" : "the tty did not come back within \(timeout): \(e)"))
        }
    }
}
