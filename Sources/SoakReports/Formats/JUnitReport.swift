import Foundation
import SoakCore

/// JUnit XML for CI (valid against the Jenkins xUnit schema, junit-10.xsd): one test suite per
/// run, a test case for the link (did it stay up) and one per pass criterion, each failure with
/// the numbers a person needs to act on it.
public enum JUnitReport {
    /// One test case of a run: its name, whether it passed, its time and the XML inside it
    /// (a failure or error element; empty when it passed). `rpmsg-soak run --lava` reports the
    /// same list, so JUnit and LAVA cannot disagree.
    public struct Case: Sendable, Equatable {
        public var name: String
        public var seconds: Double
        /// `<failure .../>` or `<error .../>`, or empty.
        public var body: String
        public var passed: Bool { body.isEmpty }
    }

    /// The run's test cases, in order: the link, then one per pass criterion.
    public static func cases(_ s: RunSummary) -> [Case] {
        var cases: [Case] = []

        // The link itself: hangs and hang-ups, with what was known when it failed.
        var linkBody = ""
        if !s.linkFailures.isEmpty {
            let text = s.linkFailures.map { f in
                var t = "\(f.kind.rawValue) at \(fmt(f.atSeconds)) s (\(f.wall)) after \(f.messagesBefore) messages: \(f.reason)"
                if let d = f.diagnosis { t += "\ndiagnosis: \(d)" }
                if let ev = f.evidence, !ev.lines.isEmpty {
                    t += "\nUART and kernel lines around it (seconds relative to the failure):\n"
                    t += ev.lines.suffix(40).map { "  " + String(format: "%+.3f", $0.offset) + " \($0.source.rawValue) \($0.text)" }.joined(separator: "\n")
                }
                return t
            }.joined(separator: "\n\n")
            let first = s.linkFailures[0]
            linkBody = "<failure type=\"\(first.kind.rawValue)\" message=\"\(Markup.escape(first.diagnosis ?? first.reason))\">\(Markup.escape(text))</failure>"
        } else if s.verdict == .incomplete {
            linkBody = "<error type=\"incomplete\" message=\"the tester stopped before the run ended\">\(Markup.escape(s.warnings.joined(separator: "\n")))</error>"
        } else if s.verdict == .error {
            linkBody = "<error type=\"infrastructure\" message=\"\(Markup.escape(s.endDetail ?? "the hardware could not be reached"))\"/>"
        } else if s.verdict == .interrupted {
            // Not a pass: a gate that reads only the JUnit must not go green on a cut-off run.
            linkBody = "<error type=\"interrupted\" message=\"interrupted after \(fmt(s.durationSeconds)) s: \(Markup.escape(s.endDetail ?? "stopped"))\"/>"
        }
        cases.append(Case(name: "link stays up for \(fmt(s.durationSeconds)) s", seconds: s.durationSeconds, body: linkBody))

        for c in s.criteria {
            let body = c.passed ? "" : "<failure type=\"\(Markup.escape(c.name))\" message=\"\(Markup.escape(c.message))\">\(Markup.escape("\(c.name): observed \(c.observed), limit \(c.limit)"))</failure>"
            cases.append(Case(name: "\(c.name) \(c.limit)", seconds: 0, body: body))
        }
        return cases
    }

    public static func render(_ s: RunSummary) -> String {
        document([testsuite(s, name: "rpmsg-soak.\(s.profile)")])
    }

    /// A `<testsuite>` element, indented for `document`, and its counts.
    public struct Suite: Sendable {
        public var xml: String
        public var tests: Int
        public var failures: Int
        public var errors: Int
        public var time: Double
    }

    /// The whole file around `suites`: `render` gives it one, a fleet one per run.
    public static func document(_ suites: [Suite]) -> String {
        let tests = suites.reduce(0) { $0 + $1.tests }
        let failures = suites.reduce(0) { $0 + $1.failures }
        let errors = suites.reduce(0) { $0 + $1.errors }
        let time = suites.reduce(0.0) { $0 + max(0, $1.time) }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="rpmsg-soak" tests="\(tests)" failures="\(failures)" errors="\(errors)" time="\(fmt(time))">
        \(suites.map(\.xml).joined(separator: "\n"))
        </testsuites>

        """
    }

    /// One run's `<testsuite>`: a case for the link and one per criterion, under `name` (also
    /// the cases' classname), with `extraProperties` after the run's own.
    public static func testsuite(_ s: RunSummary, name suite: String, extraProperties: [(String, String)] = []) -> Suite {
        let cases = Self.cases(s).map { testcase(suite, $0.name, $0.seconds, $0.body) }

        let failures = cases.filter { $0.contains("<failure") }.count
        let errors = cases.filter { $0.contains("<error") }.count
        let skipped = cases.filter { $0.contains("<skipped") }.count
        var props: [(String, String)] = [
            ("profile", s.profilePath), ("board", s.boardPath), ("seed", "\(s.seed)"), ("verdict", s.verdict.rawValue),
            ("end_reason", s.endReason), ("sent", "\(s.totals.sent)"), ("echoed", "\(s.totals.echoed)"),
            ("lost", "\(s.totals.lost)"), ("corrupted", "\(s.totals.corrupted)"), ("duplicated", "\(s.totals.duplicated)"),
            ("out_of_order", "\(s.totals.outOfOrder)"), ("tool", s.tool),
        ]
        if let l = s.latencyMicros {
            props += [("latency_p50_us", "\(l.p50)"), ("latency_p99_us", "\(l.p99)"), ("latency_max_us", "\(l.max)")]
        }
        if let n = s.network {
            // Latency over a network includes it: said beside the figures a CI page shows.
            props.append(("latency_includes", n.path))
            if let r = n.roundTripMicros {
                props += [("network_round_trip_p50_us", "\(r.p50)"), ("network_round_trip_p99_us", "\(r.p99)"),
                          ("network_round_trip_max_us", "\(r.max)")]
            }
        }
        props += extraProperties
        let properties = props.map { "      <property name=\"\(Markup.escape($0.0))\" value=\"\(Markup.escape($0.1))\"/>" }.joined(separator: "\n")
        let xml = """
          <testsuite name="\(Markup.escape(suite))" tests="\(cases.count)" failures="\(failures)" errors="\(errors)" skipped="\(skipped)" time="\(fmt(s.durationSeconds))" timestamp="\(Markup.escape(String(s.startedAt.prefix(19))))" hostname="\(Markup.escape(s.host))">
            <properties>
        \(properties)
            </properties>
        \(cases.joined(separator: "\n"))
            <system-out>\(Markup.escape(TextReport.render(s)))</system-out>
          </testsuite>
        """
        return Suite(xml: xml, tests: cases.count, failures: failures, errors: errors, time: s.durationSeconds)
    }

    static func testcase(_ suite: String, _ name: String, _ time: Double, _ body: String) -> String {
        let open = "    <testcase classname=\"\(Markup.escape(suite))\" name=\"\(Markup.escape(name))\" time=\"\(fmt(time))\""
        return body.isEmpty ? open + "/>" : open + ">\n      \(body)\n    </testcase>"
    }

    /// Seconds as the schema wants them: plain decimal, no exponent, no unit.
    static func fmt(_ seconds: Double) -> String { String(format: "%.3f", max(0, seconds)) }
}
