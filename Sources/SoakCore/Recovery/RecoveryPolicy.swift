import Foundation

/// What brings a dead link back, in the order to try (the ladder), and the limits.
public struct RecoveryPolicy: Sendable, Codable, Equatable {
    public enum Step: String, Sendable, Codable, CaseIterable {
        /// Close and reopen the tty. Does not clear a kick timeout (DOMAIN.md), but does clear a
        /// tty that went away and came back.
        case reopen
        /// Stop and start the M7 through remoteproc sysfs (Linux loaded its firmware), wait for
        /// the tty. Not possible when U-Boot started the M7 (remoteproc state `attached`).
        case remoteprocRestart = "remoteproc-restart"
        /// Power the board off for `off_time` and on again, wait for the tty.
        case powerCycle = "power-cycle"
    }
    public var ladder: [Step]
    /// Past this many recoveries the run ends (an infrastructure verdict).
    public var maxRecoveries: Int
    /// Past this many ladders in a row that did not bring the link back, the run ends.
    public var maxConsecutiveFailures: Int
    /// A step worked when one probe message is echoed within this.
    public var probeTimeout: SoakDuration
    public var offTime: SoakDuration
    /// After power returns: how long the board may take until its tty opens.
    public var bootTimeout: SoakDuration

    public static let `default` = RecoveryPolicy(ladder: [.reopen, .powerCycle], maxRecoveries: 1000, maxConsecutiveFailures: 3,
                                                 probeTimeout: .seconds(5), offTime: .seconds(2), bootTimeout: .seconds(60))
}

public struct RecoveryFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One recovery attempt on the timeline.
public struct RecoveryRecord: Sendable, Codable, Equatable {
    /// What came of a step: the link is back, the step ran and did not bring it back, or the
    /// step could not be tried on this board (no power switch, an M7 that U-Boot started).
    public enum Outcome: String, Sendable, Codable {
        case succeeded, failed, skipped
    }
    public var step: RecoveryPolicy.Step
    public var outcome: Outcome
    public var succeeded: Bool { outcome == .succeeded }
    public var seconds: Double
    /// Why it failed or was skipped, or how it succeeded ("probe echoed").
    public var detail: String

    public init(step: RecoveryPolicy.Step, outcome: Outcome, seconds: Double, detail: String) {
        self.step = step; self.outcome = outcome; self.seconds = seconds; self.detail = detail
    }

    /// A step that could not be tried: the reason, kept as earlier versions wrote it.
    public static func skipped(_ step: RecoveryPolicy.Step, because reason: String) -> RecoveryRecord {
        RecoveryRecord(step: step, outcome: .skipped, seconds: 0, detail: "not applicable: \(reason)")
    }

    enum CodingKeys: String, CodingKey { case step, outcome, succeeded, seconds, detail }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(RecoveryPolicy.Step.self, forKey: .step)
        seconds = try c.decode(Double.self, forKey: .seconds)
        detail = try c.decode(String.self, forKey: .detail)
        if let o = try c.decodeIfPresent(Outcome.self, forKey: .outcome) {
            outcome = o
        } else {
            // Timelines before the typed outcome: a skipped step said so only in its detail.
            let ok = try c.decode(Bool.self, forKey: .succeeded)
            outcome = ok ? .succeeded : detail.hasPrefix("not applicable") ? .skipped : .failed
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(outcome, forKey: .outcome)
        // Kept for readers of the first timeline version.
        try c.encode(succeeded, forKey: .succeeded)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(detail, forKey: .detail)
    }
}

extension BoardConfig {
    /// Why this board file cannot do `step` at all, as far as the file tells (`rpmsg-soak check`
    /// says so before a night is spent on it); at run time remoteproc's state may also rule a
    /// restart out.
    public func cannotDo(_ step: RecoveryPolicy.Step) -> String? {
        switch step {
        case .reopen:
            return nil
        case .remoteprocRestart:
            if remoteproc == nil { return StepUnavailable.noRemoteproc }
            if isSimulated && simulator?.m7StartedByBootLoader == true {
                return StepUnavailable.simulatedM7StartedByUBoot
            }
            return nil
        case .powerCycle:
            guard let via = power?.via, via != .none else { return StepUnavailable.noPowerSwitch }
            return nil
        }
    }
}
