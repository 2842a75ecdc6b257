import Foundation
import SoakCore

/// The comparison for a terminal: the verdict, then a row per judged metric.
public enum CompareText {
    public static func verdictLine(_ c: Comparison) -> String {
        c.regressed
            ? "rpmsg-soak compare: REGRESSED (\(c.regressions) regression\(c.regressions == 1 ? "" : "s"): \(c.checks.filter { $0.verdict == .regression }.map(\.name).joined(separator: ", ")))"
            : "rpmsg-soak compare: PASSED (no regression against the baseline)"
    }

    public static func render(_ c: Comparison) -> String {
        var lines = [verdictLine(c),
                     "  baseline: \(c.baseline.path) (\(c.baseline.profile) on \(c.baseline.board), seed \(c.baseline.seed), \(c.baseline.startedAt), \(c.baseline.verdict))",
                     "  current:  \(c.current.path) (\(c.current.profile) on \(c.current.board), seed \(c.current.seed), \(c.current.startedAt), \(c.current.verdict))",
                     ""]
        let rows = CompareRows.rows(c)
        let header = ["metric", "baseline", "current", "change", "limit", "verdict"]
        var widths = header.map(\.count)
        for r in rows { for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        lines.append(line(header))
        lines += rows.map(line)
        for f in c.checks where f.verdict == .regression || f.verdict == .warning || f.verdict == .skipped {
            lines.append("\(f.verdict.rawValue): \(f.message)")
        }
        lines += c.notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// The table's cells, shared by the terminal and Markdown.
enum CompareRows {
    static func rows(_ c: Comparison) -> [[String]] {
        c.checks.map { k in
            let label = k.scope == "overall" ? k.metric : "\(k.scope): \(k.metric)"
            let value = { (v: Double?) -> String in v.map { "\(Comparison.num($0)) \(k.unit)" } ?? "-" }
            var limit = k.limit
            if let p = k.pValue { limit += " (p = \(Comparison.pText(p)))" }
            let verdict = k.verdict == .regression ? "REGRESSION" : k.verdict == .info ? "-" : k.verdict.rawValue
            var baseline = value(k.baseline), current = value(k.current)
            if k.metric == "new_findings" {
                baseline = "\(Comparison.num(k.baseline ?? 0)) classes"
                current = c.newFindings.isEmpty ? "\(Comparison.num(k.current ?? 0)) classes"
                    : "+" + c.newFindings.keys.sorted().joined(separator: ", +")
            }
            return [label, baseline, current, Comparison.signed(k.changePercent), limit, verdict]
        }
    }
}

public enum CompareMarkdown {
    public static func render(_ c: Comparison) -> String {
        var md = "## rpmsg-soak gate: \(c.regressed ? "❌ REGRESSED" : "✅ PASSED")\n\n"
        md += "Baseline `\(cell(c.baseline.path))` (\(cell(c.baseline.profile)) on \(cell(c.baseline.board)), \(cell(c.baseline.startedAt))), "
        md += "current `\(cell(c.current.path))` (\(cell(c.current.profile)) on \(cell(c.current.board)), \(cell(c.current.startedAt))).\n\n"
        md += "| metric | baseline | current | change | limit | verdict |\n| --- | ---: | ---: | ---: | --- | --- |\n"
        for r in CompareRows.rows(c) {
            var cells = r.map(cell)
            if cells[5] == "REGRESSION" { cells[5] = "**REGRESSION**" }
            md += "| " + cells.joined(separator: " | ") + " |\n"
        }
        let told = c.checks.filter { $0.verdict == .regression || $0.verdict == .warning || $0.verdict == .skipped }
        if !told.isEmpty || !c.notes.isEmpty {
            md += "\n"
            for k in told { md += "- \(k.verdict.rawValue): \(cell(k.message))\n" }
            for n in c.notes { md += "- note: \(cell(n))\n" }
        }
        return md
    }

    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// The gate's JUnit test suite, `rpmsg-soak.gate`: a case per judged metric (`gate.latency_p99`,
/// `gate.phase.<phase>.messages_per_second`, `gate.failure_rate`, `gate.new_findings`, ...), the
/// limit and both values in the message. Kept apart from `JUnitReport.cases`, so a run's own
/// cases and the gate's never mix.
public enum GateJUnit {
    public static let suiteName = "rpmsg-soak.gate"

    public static func cases(_ c: Comparison) -> [JUnitReport.Case] {
        c.checks.filter { $0.verdict != .info }.map { k in
            let values = "\(k.name): baseline \(k.baseline.map(Comparison.num) ?? "-"), current \(k.current.map(Comparison.num) ?? "-") \(k.unit), limit \(k.limit)"
            switch k.verdict {
            case .regression:
                return JUnitReport.Case(name: k.name, seconds: 0, outcome: .failed, type: "regression", message: k.message,
                                        detail: values, out: message(c, k.name))
            case .skipped:
                return JUnitReport.Case(name: k.name, seconds: 0, outcome: .skipped, message: k.message, out: message(c, k.name))
            default:
                return JUnitReport.Case(name: k.name, seconds: 0, out: message(c, k.name))
            }
        }
    }

    public static func suite(_ c: Comparison) -> JUnitReport.Suite {
        let cs = cases(c)
        let xmlCases = cs.map { JUnitReport.testcase(suiteName, $0) }
        let failures = cs.filter { $0.body.hasPrefix("<failure") }.count
        let skipped = cs.filter { $0.body.hasPrefix("<skipped") }.count
        let props: [(String, String)] = [("baseline", c.baseline.path), ("current", c.current.path), ("verdict", c.verdict)]
        let xml = """
          <testsuite name="\(suiteName)" tests="\(cs.count)" failures="\(failures)" errors="0" skipped="\(skipped)" time="0.000" timestamp="\(Markup.escape(String(c.current.startedAt.prefix(19))))">
            <properties>
        \(props.map { "      <property name=\"\($0.0)\" value=\"\(Markup.escape($0.1))\"/>" }.joined(separator: "\n"))
            </properties>
        \(xmlCases.joined(separator: "\n"))
            <system-out>\(Markup.escape(CompareText.render(c)))</system-out>
          </testsuite>
        """
        return JUnitReport.Suite(xml: xml, tests: cs.count, failures: failures, errors: 0, time: 0)
    }

    static func message(_ c: Comparison, _ name: String) -> String {
        c.checks.first { $0.name == name }?.message ?? ""
    }

    /// `compare --out`: the gate suite alone.
    public static func render(_ c: Comparison) -> String { JUnitReport.document([suite(c)]) }

    /// `run --baseline`: the run's own suite, as `JUnitReport.render` writes it, then the gate's.
    public static func render(run s: RunSummary, gate c: Comparison) -> String {
        JUnitReport.document([JUnitReport.testsuite(s, name: "rpmsg-soak.\(s.profile)"), suite(c)])
    }
}
