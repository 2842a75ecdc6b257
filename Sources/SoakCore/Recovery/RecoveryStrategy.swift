/// Climbs the profile's recovery ladder with the board's steps, as often as the limits allow.
/// Each step's attempt is confirmed by the run (the firmware's ready line, then a probe echo)
/// and recorded with a typed outcome.
public final class RecoveryStrategy {
    public enum Outcome { case recovered(Link), gaveUp(String), stopped }

    /// What the run does around each step: it owns the link, the lines and the probe.
    public struct Hooks {
        /// Before a step: take the lines read so far, forget the last ready line.
        public var before: (RecoveryStep) -> Void
        /// After a step opened a link: nil when it echoes (the link is back), else why not.
        public var confirm: (RecoveryStep, Link) -> String?
        /// After each attempt, successful or not.
        public var record: (RecoveryRecord) -> Void
        public init(before: @escaping (RecoveryStep) -> Void, confirm: @escaping (RecoveryStep, Link) -> String?,
                    record: @escaping (RecoveryRecord) -> Void) {
            self.before = before; self.confirm = confirm; self.record = record
        }
    }

    let policy: RecoveryPolicy
    let steps: [RecoveryPolicy.Step: RecoveryStep]
    public private(set) var recoveries = 0
    private var consecutiveFailures = 0

    /// - steps: what this board can try, by name; a ladder step the board has no part for is skipped.
    public init(policy: RecoveryPolicy, steps: [RecoveryStep]) {
        self.policy = policy
        var byName: [RecoveryPolicy.Step: RecoveryStep] = [:]
        for s in steps { byName[s.name] = s }
        self.steps = byName
    }

    public func unavailable(_ name: RecoveryPolicy.Step) -> String? {
        guard let step = steps[name] else { return "this board has no way to \(name.rawValue)" }
        return step.unavailable()
    }

    /// Climbs until a step brings the link back. `link` is the dead link, closed here.
    public func recover(closing link: Link, context: RecoveryContext, hooks: Hooks) -> Outcome {
        link.close()
        while true {
            if recoveries >= policy.maxRecoveries {
                return .gaveUp("\(recoveries) recoveries: the limit (max_recoveries) is reached")
            }
            // What the last step tried said, for the run's end: the morning reader's first clue.
            var lastTried: String?
            for name in policy.ladder {
                if context.interrupted() { return .stopped }
                let started = context.clock.now()
                guard let step = steps[name], unavailable(name) == nil else {
                    hooks.record(.skipped(name, because: unavailable(name) ?? ""))
                    continue
                }
                hooks.before(step)
                var detail: String
                var back: Link?
                do {
                    let opened = try step.perform(context)
                    if let why = hooks.confirm(step, opened) {
                        detail = why
                        opened.close()
                    } else {
                        detail = "probe echoed"
                        back = opened
                    }
                } catch {
                    detail = error.reason
                }
                let seconds = Double(context.clock.now() &- started) / 1e9
                hooks.record(RecoveryRecord(step: name, outcome: back != nil ? .succeeded : .failed, seconds: seconds, detail: detail))
                lastTried = "\(name.rawValue): \(detail)"
                if let back {
                    recoveries += 1
                    consecutiveFailures = 0
                    return .recovered(back)
                }
            }
            consecutiveFailures += 1
            if consecutiveFailures >= policy.maxConsecutiveFailures {
                return .gaveUp("\(consecutiveFailures) recovery ladders in a row did not bring the link back"
                               + (lastTried.map { "; last, \($0)" } ?? ""))
            }
        }
    }
}
