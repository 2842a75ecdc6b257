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

/// Time-to-failure statistics across a night.
public enum Reliability {
    /// Exact two-sided 95% confidence interval for an exponential MTBF from `failures` failures
    /// in `uptime` seconds, the last cycle counted as censored (time-truncated test):
    /// [2T / chi2(0.975; 2r+2), 2T / chi2(0.025; 2r)].
    public static func mtbfInterval(uptime: Double, failures: Int) -> (lower: Double, upper: Double?) {
        let r = Double(failures)
        let lower = 2 * uptime / chiSquareQuantile(0.975, degrees: 2 * r + 2)
        let upper = failures > 0 ? 2 * uptime / chiSquareQuantile(0.025, degrees: 2 * r) : nil
        return (lower, upper)
    }

    /// Wilson-Hilferty approximation; good to well under 1% from 2 degrees of freedom up.
    public static func chiSquareQuantile(_ p: Double, degrees k: Double) -> Double {
        let z = normalQuantile(p)
        let a = 2 / (9 * k)
        return k * pow(1 - a + z * a.squareRoot(), 3)
    }

    /// Acklam's rational approximation of the standard normal quantile.
    public static func normalQuantile(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
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
            switch power?.via {
            case nil, .none?: return StepUnavailable.noPowerSwitch
            case .simulated?, .command?, .gpio?: return nil
            }
        }
    }
}
