import Foundation
import SoakCore

/// The live figures in the Prometheus text format (0.0.4, what node_exporter's textfile
/// collector reads) or in OpenMetrics 1.0. Both give the same samples, names and labels; only
/// the metadata differs as each format wants it: OpenMetrics names a counter's family without
/// `_total`, types the phase as `info` and ends with `# EOF`. No timestamps: the textfile
/// collector refuses them. Every series carries `profile` and `board`.
public enum MetricsText {
    public enum Format: String, CaseIterable, Sendable {
        case prometheus
        case openmetrics
    }

    /// One metric family: its name as the samples carry it, its type, its help, its samples.
    struct Family {
        enum Kind: String { case counter, gauge, info }
        var name: String
        var kind: Kind
        var help: String
        var samples: [(labels: [(String, String)], value: String)] = []
    }

    public static func render(_ f: LiveFigures, format: Format) -> String {
        let base = [("profile", f.profile), ("board", f.board)]
        var families: [Family] = []
        func family(_ name: String, _ kind: Family.Kind, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            families.append(Family(name: name, kind: kind, help: help, samples: samples.map { (base + $0.labels, $0.value) }))
        }
        func one(_ value: String) -> [(labels: [(String, String)], value: String)] { [([], value)] }

        let t = f.totals
        let counters: [(String, UInt64, String)] = [
            ("messages_sent", t.sent, "Messages sent to the M7."),
            ("messages_echoed", t.echoed, "Messages echoed back intact."),
            ("messages_lost", t.lost, "Messages not echoed within link.loss_timeout."),
            ("messages_corrupted", t.corrupted, "Echoes whose bytes differ from what was sent."),
            ("messages_duplicated", t.duplicated, "Echoes received more than once."),
            ("messages_out_of_order", t.outOfOrder, "Echoes received after a later message's echo."),
            ("messages_unanswered", t.unanswered, "Messages in flight when the link failed: neither echoed nor lost."),
            ("stray_bytes", t.strayBytes, "Bytes read from the link that belong to no frame."),
        ]
        for (name, value, help) in counters {
            family("rpmsg_soak_\(name)_total", .counter, help, one(String(value)))
        }
        family("rpmsg_soak_link_failures_total", .counter,
               "Link failures by kind: hang (no echo for link.hang_timeout), link_lost (the tty went away), finding (a rule with action recover).",
               [LinkFailure.Kind.hang, .linkLost, .finding].map { ([("kind", $0.rawValue)], String(f.failures[$0] ?? 0)) })
        family("rpmsg_soak_recoveries_total", .counter,
               "Recovery steps tried, by step and outcome (succeeded: the probe echoed and the link is back).",
               RecoveryPolicy.Step.allCases.flatMap { step in
                   [RecoveryRecord.Outcome.succeeded, .failed, .skipped].map {
                       ([("step", step.rawValue), ("outcome", $0.rawValue)], String(f.recoveries[step]?[$0] ?? 0))
                   }
               })
        family("rpmsg_soak_findings_total", .counter, "What the rules found on the M7 UART and in the kernel log, by finding class.",
               f.findings.keys.sorted().map { ([("class", $0)], String(f.findings[$0] ?? 0)) })

        let scopes: [(String, LiveFigures.Latency?)] = [("interval", f.interval), ("run", f.run)]
        for (stat, key, help) in [("p50", \LiveFigures.Latency.p50, "median"), ("p99", \.p99, "99th percentile"), ("max", \.max, "maximum")] {
            family("rpmsg_soak_latency_\(stat)_seconds", .gauge,
                   "Round-trip latency, \(help), of the last report interval (scope=interval) and of the whole run (scope=run); absent before an echo.",
                   scopes.compactMap { scope, l in l.map { ([("scope", scope)], seconds($0[keyPath: key])) } })
        }
        family("rpmsg_soak_echo_rate", .gauge, "Messages echoed per second in the last report interval.", one(number(f.rate)))
        family("rpmsg_soak_messages_in_flight", .gauge, "Messages sent and not yet echoed, at the last report interval.", one(String(f.outstanding)))
        family("rpmsg_soak_state", .gauge, "Where the run stands: 1 for the current state, 0 for the others.",
               LiveFigures.State.allCases.map { ([("state", $0.rawValue)], $0 == f.state ? "1" : "0") })
        family("rpmsg_soak_verdict", .gauge, "The run's verdict once its reports are written: 1 for it, 0 for the others; absent while it runs.",
               f.verdict == nil ? [] : [Verdict.passed, .failed, .error, .interrupted, .incomplete].map {
                   ([("verdict", $0.rawValue)], $0 == f.verdict ? "1" : "0")
               })
        family("rpmsg_soak_phase_info", .info, "The phase the run is in (its name and its index in the profile).",
               f.phase.map { [([("phase", $0), ("index", String(f.phaseIndex ?? 0))], "1")] } ?? [])
        family("rpmsg_soak_elapsed_seconds", .gauge, "Seconds since the run started.", one(number(f.elapsed)))
        family("rpmsg_soak_remaining_seconds", .gauge, "Seconds left of the profile's phases.", one(number(f.remaining)))
        family("rpmsg_soak_link_up_seconds", .gauge, "Seconds the link was up: the run time less the time from each link failure to the link's return.",
               one(number(f.linkUpSeconds)))
        family("rpmsg_soak_start_time_seconds", .gauge, "When the run started, seconds since 1970 (UTC).", f.startTime.map { one(number($0)) } ?? [])
        return families.map { text($0, format: format) }.joined() + (format == .openmetrics ? "# EOF\n" : "")
    }

    static func text(_ fam: Family, format: Format) -> String {
        // OpenMetrics: the family of counter samples `x_total` is `x`, of info samples `x_info` is `x`.
        var family = fam.name
        var type = fam.kind.rawValue
        switch (format, fam.kind) {
        case (.openmetrics, .counter): family = String(fam.name.dropLast("_total".count))
        case (.openmetrics, .info): family = String(fam.name.dropLast("_info".count))
        case (.prometheus, .info): type = "gauge"
        default: break
        }
        var out = "# HELP \(family) \(escapeHelp(fam.help))\n# TYPE \(family) \(type)\n"
        for s in fam.samples {
            out += fam.name + "{" + s.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "} " + s.value + "\n"
        }
        return out
    }

    /// Microseconds as seconds, exactly (six decimals, trailing zeros dropped).
    static func seconds(_ micros: UInt64) -> String {
        let whole = micros / 1_000_000, frac = micros % 1_000_000
        guard frac > 0 else { return String(whole) }
        var digits = String(frac)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// A gauge's value: at most three decimals, no exponent.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf") }
        var s = String(format: "%.3f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// A label value: backslash, double quote and line feed escaped, as both formats want.
    static func escapeLabel(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
