/// Close and reopen the tty. Clears a tty that went away and came back, never a kick timeout.
public final class ReopenStep: RecoveryStep {
    public let name = RecoveryPolicy.Step.reopen
    public let restartsFirmware = false
    let opener: LinkOpener
    let timeout: SoakDuration

    public init(opener: LinkOpener, timeout: SoakDuration = .seconds(5)) {
        self.opener = opener
        self.timeout = timeout
    }

    public func unavailable() -> String? { nil }

    public func perform(_ context: RecoveryContext) throws(RecoveryFailure) -> Link {
        try context.open(opener, timeout: timeout)
    }
}

/// Stop and start the M7 through remoteproc, then wait for its tty.
public final class RemoteprocRestartStep: RecoveryStep {
    public let name = RecoveryPolicy.Step.remoteprocRestart
    public let restartsFirmware = true
    let core: RemoteCore?
    let opener: LinkOpener
    /// Why the board file rules it out before anything is asked of the core.
    let ruledOut: String?

    public init(core: RemoteCore?, opener: LinkOpener, ruledOut: String? = nil) {
        self.core = core
        self.opener = opener
        self.ruledOut = ruledOut ?? (core == nil ? StepUnavailable.noRemoteproc : nil)
    }

    public func unavailable() -> String? { ruledOut ?? core?.unavailable() }

    public func perform(_ context: RecoveryContext) throws(RecoveryFailure) -> Link {
        guard let core else { throw RecoveryFailure(StepUnavailable.noRemoteproc) }
        try context.recorder.action("remoteproc restart") { () throws(RecoveryFailure) in try core.restart(interrupted: context.interrupted) }
        return try context.open(opener, timeout: context.policy.bootTimeout)
    }
}

/// Power off for the off time, on again (or, for a switch that can only cycle, its hard reset),
/// let it settle, rerun the board's setup commands, and wait for the tty.
public final class PowerCycleStep: RecoveryStep {
    public let name = RecoveryPolicy.Step.powerCycle
    public let restartsFirmware = true
    let power: PowerControl?
    let offTime: SoakDuration?
    let settleTime: SoakDuration?
    /// The board file's setup commands (`modprobe imx_rpmsg_tty`), run again after power-on.
    let setup: (() throws -> Void)?
    let opener: LinkOpener

    /// - offTime: the board's own off time; nil: the profile's `recovery.off_time`.
    public init(power: PowerControl?, offTime: SoakDuration?, settleTime: SoakDuration?, opener: LinkOpener,
                setup: (() throws -> Void)? = nil) {
        self.power = power
        self.offTime = offTime
        self.settleTime = settleTime
        self.opener = opener
        self.setup = setup
    }

    public func unavailable() -> String? { power == nil ? StepUnavailable.noPowerSwitch : nil }

    public func perform(_ context: RecoveryContext) throws(RecoveryFailure) -> Link {
        guard let power else { throw RecoveryFailure(StepUnavailable.noPowerSwitch) }
        if power.resetOnly {
            // A switch that can only cycle: its reset command keeps the power off as long as it does.
            try context.recorder.action("power hard reset (\(power.power.name))") { () throws(RecoveryFailure) in try power.hardReset() }
        } else {
            let off = offTime ?? context.policy.offTime
            try context.recorder.action("power off (\(power.power.name))") { () throws(RecoveryFailure) in try power.off() }
            guard context.sleep(off) else { throw RecoveryFailure("interrupted while the power was off") }
            try context.recorder.action("power on (\(power.power.name))") { () throws(RecoveryFailure) in try power.on() }
        }
        if let settle = settleTime, !context.sleep(settle) { throw RecoveryFailure("interrupted") }
        // The board answering (ssh), its setup commands and its tty, all within boot_timeout.
        let bootTimeout = context.policy.bootTimeout
        let deadline = context.clock.now() &+ bootTimeout.nanoseconds
        if let what = opener.reachability {
            try context.recorder.action("wait for \(what)") { () throws(RecoveryFailure) in
                do { try opener.awaitReachable(timeout: bootTimeout, interrupted: context.interrupted) } catch {
                    throw RecoveryFailure(context.interrupted() ? "interrupted" : "\(error)")
                }
            }
        }
        if let setup {
            try context.recorder.action("setup commands") { () throws(RecoveryFailure) in
                do { try setup() } catch { throw RecoveryFailure("setup after power-on: \(error)") }
            }
        }
        // What is left of boot_timeout, but a moment at least: a tty that came with ssh opens at once.
        let left = SoakDuration(nanoseconds: max(deadline &- min(deadline, context.clock.now()), 1_000_000_000))
        return try context.open(opener, timeout: left)
    }
}
