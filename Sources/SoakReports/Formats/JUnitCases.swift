import Foundation
import SoakCore

/// The one list of a run's test cases (junit.xml, the fleet's junit.xml and `run --lava` all read
/// it). The names depend on the profile only, never on what happened, so every run of a profile
/// has the same cases:
///
/// - `run.completes`: the run went through all its phases (error when the tester or the hardware
///   stopped it, failure when a link failure ended it);
/// - per phase of the profile, `<phase>.integrity` (lost, corrupted, duplicated, out of order;
///   stray and unanswered bytes reported) and `<phase>.latency` (latency_p99, latency_max); a
///   phase the run did not reach is skipped;
/// - `link.hangs` (hangs, and fatal findings that ended the link such as the kick timeout) and
///   `link.hangups` (the tty went away);
/// - `findings.kernel` and `findings.firmware`: the rule findings of each source that fail a run;
/// - `run.min_echoed`.
///
/// The profile's limits are over the whole run (as the verdict judges them): a phase's case fails
/// when the run's criterion failed and that phase contributed (it counted some, or its latency was
/// above the limit). So the cases fail exactly when the verdict does.
extension JUnitReport {
    /// How many UART and kernel lines of the link failures the suite's system-out holds.
    public static let maxFailureLines = 200

    /// A phase name as a case name part: `[A-Za-z0-9_.-]`, anything else `_`.
    public static func sanitisedPhase(_ name: String) -> String {
        let s = String(name.unicodeScalars.map { c -> Character in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || "_-.".unicodeScalars.contains(c)) ? Character(c) : "_"
        })
        return s.isEmpty ? "phase" : s
    }

    public static func cases(_ s: RunSummary) -> [Case] {
        var out: [Case] = []
        let criterion = { (name: String) in s.criteria.first { $0.name == name } }
        let completed = s.endReason == RunEnd.Reason.completed.rawValue

        // The phases of the profile (those of the timeline for a summary without them), each
        // raw name once; the case names sanitised and told apart when sanitising made two equal.
        var rawNames: [String] = []
        for n in (s.plannedPhases.isEmpty ? s.phases.map(\.name) : s.plannedPhases) where !rawNames.contains(n) { rawNames.append(n) }
        var caseNames: [String] = []
        for n in rawNames {
            var name = sanitisedPhase(n)
            var i = 2
            while caseNames.contains(name) { name = sanitisedPhase(n) + "-\(i)"; i += 1 }
            caseNames.append(name)
        }
        struct Ran {
            var totals = Counters()
            var p99: UInt64?
            var max: UInt64?
            var seconds = 0.0
            var reached = false
        }
        var ran = [String: Ran]()
        for (i, p) in s.phases.enumerated() {
            var r = ran[p.name] ?? Ran()
            r.reached = true
            r.totals = r.totals + p.totals
            r.seconds += s.phaseSeconds(i)
            if let l = p.latencyMicros {
                r.p99 = Swift.max(r.p99 ?? 0, l.p99)
                r.max = Swift.max(r.max ?? 0, l.max)
            }
            ran[p.name] = r
        }
        let lastReached = s.phases.last?.name ?? rawNames.first
        let notReached = "not reached: the run ended (\(s.endReason)) at \(fmt(s.durationSeconds)) s"

        // run.completes
        var run = Case(name: "run.completes", seconds: s.durationSeconds,
                       out: "ended: \(s.endReason)\(s.endDetail.map { " (\($0))" } ?? "") after \(fmt(s.durationSeconds)) s; phases reached: \(rawNames.filter { ran[$0] != nil }.count) of \(rawNames.count)")
        switch s.verdict {
        case .incomplete:
            run.outcome = .error; run.type = "incomplete"; run.message = "the tester stopped before the run ended"
            run.detail = s.warnings.joined(separator: "\n")
        case .error:
            run.outcome = .error; run.type = "infrastructure"; run.message = s.endDetail ?? "the hardware could not be reached"
        case .interrupted:
            // Not a pass: a gate that reads only the JUnit must not go green on a cut-off run.
            run.outcome = .error; run.type = "interrupted"
            run.message = "interrupted after \(fmt(s.durationSeconds)) s: \(s.endDetail ?? "stopped")"
        case .passed, .failed:
            if s.endReason == RunEnd.Reason.linkFailed.rawValue {
                let f = s.linkFailures.last
                run.outcome = .failed; run.type = "link_failed"
                run.message = "a link failure ended the run at \(fmt(f?.atSeconds ?? s.durationSeconds)) s in phase \(lastReached ?? "?"): "
                    + (f.map { $0.diagnosis ?? $0.reason } ?? s.endDetail ?? "link failed")
            }
        }
        out.append(run)

        // Integrity: the run's count criteria, blamed on the phases that counted some.
        let counts: [(criterion: String, what: String, kp: KeyPath<Counters, UInt64>)] = [
            ("lost", "lost", \.lost), ("corrupted", "corrupted", \.corrupted),
            ("duplicated", "duplicated", \.duplicated), ("out_of_order", "out of order", \.outOfOrder),
        ]
        var blamed = [String: Set<String>]()   // criterion -> raw phase names
        for c in counts {
            guard let r = criterion(c.criterion), !r.passed else { continue }
            var set = Set(rawNames.filter { (ran[$0]?.totals[keyPath: c.kp] ?? 0) > 0 })
            if set.isEmpty, let l = lastReached { set = [l] }
            blamed[c.criterion] = set
        }
        // Latency: blamed on the phases above the limit, else the phase with the highest figure.
        let latencies: [(criterion: String, what: String, limit: SoakDuration?, value: (Ran) -> UInt64?)] = [
            ("latency_p99", "p99", s.passCriteria?.maxLatencyP99, { $0.p99 }),
            ("latency_max", "max", s.passCriteria?.maxLatency, { $0.max }),
        ]
        for l in latencies {
            guard let r = criterion(l.criterion), !r.passed else { continue }
            let limit = l.limit.map { $0.nanoseconds / 1000 } ?? 0
            var set = Set(rawNames.filter { (ran[$0].flatMap(l.value) ?? 0) > limit })
            if set.isEmpty, let worst = rawNames.max(by: { (ran[$0].flatMap(l.value) ?? 0) < (ran[$1].flatMap(l.value) ?? 0) }) {
                set = [worst]
            }
            blamed[l.criterion] = set
        }

        for (raw, name) in zip(rawNames, caseNames) {
            let r = ran[raw]
            let seconds = r?.seconds ?? 0
            let t = r?.totals ?? Counters()

            var integrity = Case(name: "\(name).integrity", seconds: seconds)
            var lines = ["phase \(raw): sent \(t.sent), echoed \(t.echoed), lost \(t.lost), corrupted \(t.corrupted), duplicated \(t.duplicated), out of order \(t.outOfOrder), stray bytes \(t.strayBytes), unanswered \(t.unanswered)"]
            var failing: [String] = []
            for c in counts {
                guard let crit = criterion(c.criterion) else {
                    lines.append("\(c.criterion): no limit in the profile")
                    continue
                }
                lines.append("\(c.criterion): this phase \(t[keyPath: c.kp]); the run \(crit.observed), limit \(crit.limit) over the run (\(crit.passed ? "passed" : "failed"))")
                if blamed[c.criterion]?.contains(raw) == true {
                    failing.append("\(t[keyPath: c.kp]) \(c.what) in this phase (the run: \(crit.observed), limit \(crit.limit))")
                    if integrity.type.isEmpty { integrity.type = c.criterion }
                }
            }
            integrity.out = lines.joined(separator: "\n")
            if !failing.isEmpty {
                integrity.outcome = .failed
                integrity.message = "phase \(raw): " + failing.joined(separator: "; ")
                integrity.detail = integrity.out
            } else if r == nil && !completed {
                integrity.outcome = .skipped; integrity.type = "not-reached"; integrity.message = notReached
            }
            out.append(integrity)

            var latency = Case(name: "\(name).latency", seconds: seconds)
            let figures = r.map { r in r.p99.map { "p99 \(CriteriaCheck.formatMicros($0)), max \(CriteriaCheck.formatMicros(r.max ?? $0))" } ?? "no echoes" } ?? "not reached"
            var llines = ["phase \(raw): round trip \(figures)" + (s.network.map { " (includes the network: \($0.path))" } ?? "")]
            var lfailing: [String] = []
            for l in latencies {
                guard let crit = criterion(l.criterion) else {
                    llines.append("\(l.criterion): no limit in the profile")
                    continue
                }
                llines.append("\(l.criterion): this phase \(r.flatMap(l.value).map(CriteriaCheck.formatMicros) ?? "-"); the run \(crit.observed), limit \(crit.limit) over the run (\(crit.passed ? "passed" : "failed"))")
                if blamed[l.criterion]?.contains(raw) == true {
                    lfailing.append("\(l.what) \(r.flatMap(l.value).map(CriteriaCheck.formatMicros) ?? "-") in this phase (the run: \(crit.observed), limit \(crit.limit))")
                    if latency.type.isEmpty { latency.type = l.criterion }
                }
            }
            latency.out = llines.joined(separator: "\n")
            if !lfailing.isEmpty {
                latency.outcome = .failed
                latency.message = "phase \(raw): " + lfailing.joined(separator: "; ")
                latency.detail = latency.out
            } else if r == nil && !completed {
                latency.outcome = .skipped; latency.type = "not-reached"; latency.message = notReached
            }
            out.append(latency)

            // The offered load: the rate the phase asked for against what it sent.
            if let asked = s.plannedRates[raw] {
                var rate = Case(name: "\(name).rate", seconds: seconds)
                let reached = s.phases.filter { $0.name == raw }
                let soaked = reached.reduce(0.0) { $0 + ($1.soakedSeconds ?? 0) }
                let achieved = soaked > 0 ? Double(t.sent) / soaked : 0
                let crit = criterion("min_rate_ratio")
                rate.out = "phase \(raw): asked \(OfferedRates.rate(asked))/s, sent \(OfferedRates.rate(achieved))/s over \(fmt(soaked)) s soaked ("
                    + "\(OfferedRates.percent(achieved / asked)))" + (crit.map { "; min_rate_ratio \($0.limit)" } ?? "; no min_rate_ratio in the profile")
                if let crit, !crit.passed, crit.notEvaluated != true, soaked >= OfferedRates.shortest,
                   achieved / asked < (s.passCriteria?.minRateRatio ?? 0) {
                    rate.outcome = .failed
                    rate.type = "min_rate_ratio"
                    rate.message = "phase \(raw): sent \(OfferedRates.rate(achieved))/s of the \(OfferedRates.rate(asked))/s asked (\(OfferedRates.percent(achieved / asked)), limit \(crit.limit))"
                    rate.detail = rate.out
                } else if r == nil && !completed {
                    rate.outcome = .skipped; rate.type = "not-reached"; rate.message = notReached
                }
                out.append(rate)
            }
        }

        // The link: hangs (with the fatal findings that end the link) and hang-ups.
        let endedByLink = s.endReason == RunEnd.Reason.linkFailed.rawValue ? s.linkFailures.last : nil
        for (name, kinds, crit) in [("link.hangs", [LinkFailure.Kind.hang, .finding], "hangs"), ("link.hangups", [.linkLost], "link_lost")] {
            let list = s.linkFailures.filter { kinds.contains($0.kind) }
            var c = Case(name: name, seconds: 0)
            let limit = criterion(crit)
            var lines = ["\(list.count) \(name == "link.hangs" ? "hang(s)" : "hang-up(s)"); " + (limit.map { "limit \($0.limit) over the run" } ?? "no limit in the profile")]
            if s.reliability.recoveries > 0 {
                lines.append("recovered \(s.reliability.recoveries) time(s): " + s.reliability.recoveredBy.keys.sorted().map { "\($0) x\(s.reliability.recoveredBy[$0] ?? 0)" }.joined(separator: ", "))
            }
            lines += list.map { "\(failureClass($0, s)) at \(fmt($0.atSeconds)) s (\($0.wall)): \($0.diagnosis ?? $0.reason)" }
            c.out = lines.joined(separator: "\n")
            let endedRun = endedByLink.map { e in kinds.contains(e.kind) } ?? false
            if limit?.passed == false || endedRun, let first = list.first {
                c.outcome = .failed
                c.type = failureClass(first, s)
                c.message = (limit?.passed == false ? "\(list.count) \(crit) (limit \(limit!.limit)): " : "the run ended: ") + (first.diagnosis ?? first.reason)
                c.detail = list.map(failureText).joined(separator: "\n\n")
            }
            out.append(c)
        }

        // Findings by source: the kernel's, and the firmware's (the M7 debug UART).
        var findingsFailed = false
        for (name, kernel) in [("findings.kernel", true), ("findings.firmware", false)] {
            let mine = s.findings.filter { isKernel($0.finding) == kernel }
            var perClass = [String: UInt64]()
            for f in mine { perClass[f.finding.findingClass, default: 0] += 1 }
            let fails = mine.filter { $0.finding.action == .fail || ($0.finding.action == .record && $0.finding.severity == .fatal) }
            var c = Case(name: name, seconds: 0)
            var lines = ["\(mine.count) finding(s) from the \(kernel ? "kernel log" : "M7 UART"), \(fails.count) failing the run"]
            lines += perClass.keys.sorted().map { k in
                let recover = mine.contains { $0.finding.findingClass == k && $0.finding.action == .recover }
                return "  \(k) x\(perClass[k] ?? 0)\(recover ? " (ends the link: see link.hangs)" : "")"
            }
            c.out = lines.joined(separator: "\n")
            if let first = fails.first {
                findingsFailed = true
                var failing = [String: Int]()
                for f in fails { failing[f.finding.findingClass, default: 0] += 1 }
                c.outcome = .failed
                c.type = first.finding.findingClass
                c.message = "\(fails.count) finding(s) fail the run: " + failing.keys.sorted().map { "\($0) x\(failing[$0] ?? 0)" }.joined(separator: ", ")
                c.detail = fails.prefix(50).map { f in
                    "\(f.finding.findingClass) at \(fmt(f.atSeconds)) s (\(f.wall)): \(f.finding.explanation)" + (f.finding.line.map { "\n  \($0)" } ?? "")
                }.joined(separator: "\n") + (fails.count > 50 ? "\n... \(fails.count - 50) more" : "")
            }
            out.append(c)
        }
        // Failing findings beyond the first 500 kept: the run's criterion still says so.
        if !findingsFailed, let f = criterion("findings"), !f.passed, let i = out.firstIndex(where: { $0.name == "findings.kernel" }) {
            out[i].outcome = .failed; out[i].type = "findings"; out[i].message = f.message
        }

        var echoed = Case(name: "run.min_echoed", seconds: 0)
        if let c = criterion("min_echoed") {
            echoed.out = "echoed \(c.observed), limit \(c.limit)"
            if !c.passed { echoed.outcome = .failed; echoed.type = "min_echoed"; echoed.message = c.message; echoed.detail = echoed.out }
        } else {
            echoed.out = "echoed \(s.totals.echoed); no min_echoed limit in the profile"
        }
        out.append(echoed)
        // Nothing was sent (the hardware could not be reached): no case but run.completes can
        // pass or fail; they are skipped, so a gate reading only the JUnit sees no green.
        if s.criteria.contains(where: { $0.notEvaluated == true }) {
            for i in out.indices where out[i].name != "run.completes" && out[i].outcome != .skipped {
                out[i].outcome = .skipped
                out[i].type = "not_evaluated"
                out[i].message = "not evaluated: nothing was sent (\(s.endDetail ?? "the hardware could not be reached"))"
                out[i].detail = ""
            }
        }
        return out
    }

    /// The class of a link failure: `hang`, `link_lost`, or the class of the finding that ended
    /// the link (`mailbox-kick-timeout`).
    static func failureClass(_ f: FailureRecord, _ s: RunSummary) -> String {
        switch f.kind {
        case .hang: return "hang"
        case .linkLost: return "link_lost"
        case .finding:
            return s.findings.last { $0.finding.action == .recover && $0.atSeconds <= f.atSeconds + 0.001 }?.finding.findingClass ?? "finding"
        }
    }

    static func isKernel(_ f: Finding) -> Bool {
        if let source = f.source { return source == .kernel }
        return !(f.findingClass.hasPrefix("firmware") || f.findingClass.hasPrefix("uart"))
    }

    /// A link failure for its failure text: what happened, the diagnosis, the last frames.
    static func failureText(_ f: FailureRecord) -> String {
        var t = "\(f.kind.rawValue) at \(fmt(f.atSeconds)) s (\(f.wall)) after \(f.messagesBefore) messages: \(f.reason)"
        if let d = f.diagnosis { t += "\ndiagnosis: \(d)" }
        if let ev = f.evidence, !ev.frames.isEmpty {
            t += "\nlast frames (seconds before the failure they were sent):\n"
            t += ev.frames.suffix(10).map { fr in
                "  seq \(fr.seq) \(fr.length) B \(String(format: "%.3f", fr.sentAgo)) s \(fr.state)" + (fr.latencyMicros.map { " \(CriteriaCheck.formatMicros($0))" } ?? "")
            }.joined(separator: "\n")
        }
        if let ev = f.evidence, !ev.lines.isEmpty {
            t += "\n\(ev.lines.count) UART and kernel line(s) around it: in the suite's system-out"
        }
        return t
    }

    /// The UART and kernel lines around each link failure, for the suite's system-out: at most
    /// `maxFailureLines`, with a note when cut. Empty without link failures.
    static func failureLines(_ s: RunSummary) -> String {
        let withLines = s.linkFailures.filter { !($0.evidence?.lines.isEmpty ?? true) }
        guard !withLines.isEmpty else { return "" }
        var out = ["", "UART and kernel lines around each link failure (seconds relative to it):"]
        var left = maxFailureLines
        var cut = 0
        for f in withLines {
            let lines = f.evidence?.lines ?? []
            guard left > 0 else { cut += lines.count; continue }
            out.append("\(failureClass(f, s)) at \(fmt(f.atSeconds)) s (\(f.wall)):")
            for l in lines.prefix(left) { out.append("  " + String(format: "%+.3f", l.offset) + " \(l.source.rawValue) \(l.text)") }
            cut += max(0, lines.count - left)
            left -= min(left, lines.count)
        }
        if cut > 0 { out.append("... \(cut) more line(s) cut at \(maxFailureLines): uart.log and kernel.log in the run folder hold them all") }
        return out.joined(separator: "\n") + "\n"
    }
}
