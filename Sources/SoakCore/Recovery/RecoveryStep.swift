/// How a board's link is reached: a local tty (path, glob, udev match), the simulated board's,
/// an in-memory link on virtual time; next, a tty on the board over SSH. A new transport is one
/// opener: the runner and the recovery steps only ever ask an opener for a fresh link.
public protocol LinkOpener: AnyObject, CustomStringConvertible {
    /// Waits until the device is there (up to `timeout`) and opens it. Errors are
    /// infrastructure errors ("did not come back within 60 s: no device matches").
    func open(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) -> Link

    /// What must answer before the board's setup commands can run after its power returns (its
    /// sshd, for a board reached over ssh), for the timeline: `root@imx8mp-01 to answer ssh`;
    /// nil when nothing (a tty on this machine).
    var reachability: String? { get }

    /// Waits up to `timeout` until the board answers; at once when there is nothing to wait for.
    func awaitReachable(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError)
}

extension LinkOpener {
    public var reachability: String? { nil }
    public func awaitReachable(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) {}
}

/// The M7 as Linux's remoteproc sees it, local (sysfs) or on the simulated board.
public protocol RemoteCore: AnyObject {
    /// Why the core cannot be restarted now (U-Boot started it: state `attached`), or nil.
    func unavailable() -> String?
    /// Stops the core, loads its firmware and starts it again.
    func restart(interrupted: @escaping () -> Bool) throws(RecoveryFailure)
}

/// What a step gets to work with: the policy's times, the run's clock and waiter (so a step
/// that waits runs on virtual time in a test), the stop flag, and the recorder that puts every
/// action on the hardware on the timeline.
public struct RecoveryContext {
    public let policy: RecoveryPolicy
    public let clock: SoakClock
    public let waiter: Waiter
    public let recorder: TimelineRecorder
    public let interrupted: () -> Bool

    public init(policy: RecoveryPolicy, clock: SoakClock, waiter: Waiter, recorder: TimelineRecorder, interrupted: @escaping () -> Bool) {
        self.policy = policy; self.clock = clock; self.waiter = waiter; self.recorder = recorder; self.interrupted = interrupted
    }

    /// Lets `duration` pass; false when a stop was requested.
    public func sleep(_ duration: SoakDuration) -> Bool {
        waiter.sleep(duration, clock: clock, unless: interrupted)
    }

    /// Opens the link through `opener`, recorded as one action.
    public func open(_ opener: LinkOpener, timeout: SoakDuration) throws(RecoveryFailure) -> Link {
        try recorder.action("open \(opener)") { () throws(RecoveryFailure) -> Link in
            do {
                return try opener.open(timeout: timeout, interrupted: interrupted)
            } catch {
                throw RecoveryFailure(interrupted() ? "interrupted" : "\(error)")
            }
        }
    }
}

/// One rung of the recovery ladder: a value with its name, a check of whether this board can
/// do it, and the action. The strategy climbs them in the profile's order; a new way to bring
/// a link back is one new type and its registration in the board's parts.
public protocol RecoveryStep: AnyObject {
    var name: RecoveryPolicy.Step { get }
    /// The step reboots the firmware: its banner is expected, and the probe waits for the
    /// board file's ready line.
    var restartsFirmware: Bool { get }
    /// Why this board cannot do the step (no power switch, an M7 that U-Boot started), or nil.
    func unavailable() -> String?
    /// Carries the step out (the old link is closed already) and returns a freshly opened link.
    func perform(_ context: RecoveryContext) throws(RecoveryFailure) -> Link
}

/// Why a board file rules a step out: the same sentence for `check` and for a run.
public enum StepUnavailable {
    public static let noRemoteproc = "the board file has no remoteproc block"
    public static let noPowerSwitch = "the board file has no power switch"
    public static let simulatedM7StartedByUBoot = "the simulated M7 is started by U-Boot (remoteproc state attached)"
}
