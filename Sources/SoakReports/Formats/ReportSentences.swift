import Foundation
import SoakCore

/// The sentences more than one report says, built in one place so that a change of wording is
/// one edit. Each format keeps the punctuation and number style its readers already parse (CI
/// scripts grep the terminal lines), hence a style rather than one text for all.
enum ReportSentences {
    enum Style {
        /// The terminal and `report.txt`: seconds with one decimal, `x` counts, what to open next.
        case terminal
        /// `report.md`: the count in bold, the failure rate per million messages, `×` counts.
        case markdown
        /// `report.html` (unescaped): durations in words (`4 min 05 s`), as in the page's tables.
        case html
    }

    /// `7 link failure(s) in 170.2 s of uptime, MTBF 24.3 s (95%: 11.6-50.1 s), 7 recovered (power-cycle x7)`,
    /// worded for `style`. The caller decides whether the run has anything to say here.
    static func reliability(_ r: ReliabilitySummary, style: Style) -> String {
        let failures = "\(r.failures) link failure(s)"
        var line = (style == .markdown ? "**\(failures)**" : failures) + " in \(seconds(r.uptimeSeconds, style)) of uptime"
        if let m = mtbf(r, style: style) { line += ", " + m }
        if style == .markdown { line += String(format: ", %.2f per million messages", r.failuresPerMillionMessages) }
        let by = tally(r.recoveredBy, times: style == .markdown ? "×" : "x")
        let unhelpful = r.recoveryAttempts - r.recoveries
        switch style {
        case .terminal:
            line += ", \(r.recoveries) recovered" + (by.isEmpty ? "" : " (\(by))")
            if unhelpful > 0 { line += ", \(unhelpful) step(s) did not help or were skipped (events.jsonl, report.html)" }
        case .markdown:
            if r.recoveryAttempts > 0 { line += "; \(r.recoveries) recovered" + (by.isEmpty ? "" : " (\(by))") }
        case .html:
            line += ", \(r.recoveries) recovered" + (by.isEmpty ? "" : " (\(by))")
            if unhelpful > 0 { line += ", \(unhelpful) recovery step(s) did not help" }
        }
        return line
    }

    /// `MTBF 24.3 s (95%: 11.6-50.1 s)`; nil before a first failure.
    static func mtbf(_ r: ReliabilitySummary, style: Style) -> String? {
        r.mtbfSeconds.map { "MTBF \(seconds($0, style)) (95%: \(mtbfInterval(r, style: style)))" }
    }

    /// The MTBF's 95% interval: `11.6-50.1 s`, `11.6 to 50.1 s` or `11.6 s to 50.1 s`. With one
    /// failure or none the upper bound does not exist: the terminal says `at least 11.6 s`, the
    /// others `unbounded`.
    static func mtbfInterval(_ r: ReliabilitySummary, style: Style) -> String {
        let upper = r.mtbfUpper95.map { seconds($0, style) }
        switch style {
        case .terminal:
            guard let upper = r.mtbfUpper95 else { return "at least " + oneDecimal(r.mtbfLower95) + " s" }
            return oneDecimal(r.mtbfLower95) + "-" + oneDecimal(upper) + " s"
        case .markdown: return oneDecimal(r.mtbfLower95) + " to " + (upper ?? "unbounded")
        case .html: return seconds(r.mtbfLower95, style) + " to " + (upper ?? "unbounded")
        }
    }

    /// `the tester used 3.1% of one CPU (user 12.3 s, system 4.5 s over 9 min 58 s), peak RSS
    /// 18.4 MiB, 1520 voluntary and 12 involuntary context switches`: its own cost, so a lab sees
    /// what it took from the board or host it ran on.
    static func testerCost(_ c: TesterCost) -> String {
        var text = String(format: "the tester used %.1f%% of one CPU (user %.1f s, system %.1f s over ", c.cpuShare * 100, c.userSeconds, c.systemSeconds)
            + TimeText.duration(c.overSeconds) + ")"
            + String(format: ", peak RSS %.1f MiB", Double(c.peakRssBytes) / 1_048_576)
            + ", \(c.voluntaryContextSwitches) voluntary and \(c.involuntaryContextSwitches) involuntary context switches"
        if let u = c.childrenUserSeconds, let s = c.childrenSystemSeconds {
            text += String(format: "; its child processes user %.1f s, system %.1f s", u, s)
        }
        return text
    }

    /// Said after the send lag when a phase sent less than it asked: the lag is measured on the
    /// sends that were made, so a window that held sends back (or a board that could not keep up)
    /// does not show in it: `it counts the sends made, not those the window held back: fast sent
    /// 32/s of 100/s (32%)`.
    static func scheduleLagCaveat(_ s: RunSummary) -> String? {
        let short = s.phases.filter { p in
            guard let asked = p.askedRate, asked > 0, let got = p.achievedRate, (p.soakedSeconds ?? 0) >= OfferedRates.shortest else { return false }
            return got < asked * lagCaveatRatio
        }
        guard !short.isEmpty else { return nil }
        return "it counts the sends made, not those the window held back: " + short.map { p in
            let (got, asked) = (p.achievedRate ?? 0, p.askedRate ?? 1)
            return "\(p.name) sent \(OfferedRates.rate(got))/s of \(OfferedRates.rate(asked))/s (\(OfferedRates.percent(got / asked)))"
        }.joined(separator: ", ")
    }

    /// Below this share of its asked rate a phase is named after the send lag (the default
    /// `min_rate_ratio`).
    static let lagCaveatRatio = 0.95

    /// `includes the network (ssh to root@imx8mp-01, its own round trip p50 1.2 ms, p99 3.4 ms,
    /// max 9.1 ms)`: said next to the latency figures of a board reached over a network.
    static func network(_ n: NetworkSummary) -> String {
        guard let l = n.roundTripMicros else { return "includes the network (\(n.path), its own round trip not measured)" }
        let f = CriteriaCheck.formatMicros
        return "includes the network (\(n.path), its own round trip p50 \(f(l.p50)), p99 \(f(l.p99)), max \(f(l.max)))"
    }

    /// What to do next about a finding class, when the tester knows (DOMAIN.md).
    static func nextStep(_ findingClass: String) -> String? {
        switch FindingClass(rawValue: findingClass) {
        case .mailboxKickTimeout?:
            return "recover with a power cycle, or with remoteproc-restart when Linux loaded the M7 firmware (recovery.ladder); "
                + "check that the M7's clocks stay on (clk-imx8mp.mcore_booted=1 on the kernel command line) and that the M7 is not halted (firmware-assert, HardFault on its UART)"
        case .txBufferTimeout?:
            return "the M7 returns RX buffers too slowly: fewer messages in flight (window), or a faster firmware task"
        case .firmwareAssert?, .firmwareHardfault?:
            return "the firmware stopped itself: its UART line names the place; a power cycle or remoteproc-restart restarts it"
        default:
            return nil
        }
    }

    /// Each finding class seen, once, with what it means (the first finding's explanation: the
    /// decoded -62 for a kick timeout) and what to do next: `(class, meaning, next step)`.
    static func findingMeanings(_ s: RunSummary) -> [(findingClass: String, meaning: String, next: String?)] {
        s.findingCounts.keys.sorted().compactMap { c in
            guard let first = s.findings.first(where: { $0.finding.findingClass == c }) else { return nil }
            return (c, first.finding.explanation, nextStep(c))
        }
    }

    /// `power-cycle x7, reopen x1`: names in order, each with its count.
    static func tally(_ counts: [String: UInt64], times: String = "x") -> String {
        counts.keys.sorted().map { "\($0) \(times)\(counts[$0] ?? 0)" }.joined(separator: ", ")
    }

    private static func seconds(_ value: Double, _ style: Style) -> String {
        style == .html ? TimeText.duration(value) : oneDecimal(value) + " s"
    }

    private static func oneDecimal(_ value: Double) -> String { String(format: "%.1f", value) }
}
