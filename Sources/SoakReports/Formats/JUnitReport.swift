import Foundation
import SoakCore

/// JUnit XML for CI (valid against the Jenkins xUnit schema, junit-10.xsd): one test suite per
/// run whose test cases have the same names in every run of a profile (`<phase>.integrity`,
/// `<phase>.latency`, `link.hangs`, `findings.kernel`, ...: see `cases`), so CI can track each
/// one from run to run; the limit and the observed value are in the failure and the case's
/// system-out, never in the name.
public enum JUnitReport {
    /// One test case of a run: its stable name, its outcome, its time, and what it observed
    /// (its system-out). `rpmsg-soak run --lava` and the fleet report use the same list, so
    /// JUnit, the fleet and LAVA cannot disagree.
    public struct Case: Sendable, Equatable {
        public enum Outcome: String, Sendable, Equatable {
            case passed, failed, error, skipped
        }
        public var name: String
        public var seconds: Double
        public var outcome: Outcome
        /// The failure's, error's or skip's class (`lost`, `hang`, `mailbox-kick-timeout`, ...).
        public var type: String
        /// One line: what failed, with the observed value and the limit.
        public var message: String
        /// The failure's text: evidence and diagnosis.
        public var detail: String
        /// What the case looked at, whatever its outcome: observed values and limits.
        public var out: String

        public init(name: String, seconds: Double, outcome: Outcome = .passed, type: String = "", message: String = "",
                    detail: String = "", out: String = "") {
            self.name = name; self.seconds = seconds; self.outcome = outcome; self.type = type; self.message = message
            self.detail = detail; self.out = out
        }

        public var passed: Bool { outcome == .passed }

        /// `<failure .../>`, `<error .../>` or `<skipped .../>`, or empty when it passed.
        public var body: String {
            let tag: String
            switch outcome {
            case .passed: return ""
            case .failed: tag = "failure"
            case .error: tag = "error"
            case .skipped: tag = "skipped"
            }
            let open = "<\(tag) type=\"\(Markup.escape(type))\" message=\"\(Markup.escape(message))\""
            return detail.isEmpty ? open + "/>" : open + ">\(Markup.escape(detail))</\(tag)>"
        }
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

    /// One run's `<testsuite>`: its `cases`, under `name` (also the cases' classname), with
    /// `extraProperties` after the run's own; its system-out is report.txt, then the UART and
    /// kernel lines around each link failure (at most `maxFailureLines`).
    public static func testsuite(_ s: RunSummary, name suite: String, extraProperties: [(String, String)] = []) -> Suite {
        let list = Self.cases(s)
        let cases = list.map { testcase(suite, $0) }

        let failures = list.filter { $0.outcome == .failed }.count
        let errors = list.filter { $0.outcome == .error }.count
        let skipped = list.filter { $0.outcome == .skipped }.count
        var props: [(String, String)] = [
            ("profile", s.profilePath), ("board", s.boardPath), ("seed", "\(s.seed)"), ("verdict", s.verdict.rawValue),
            ("end_reason", s.endReason), ("sent", "\(s.totals.sent)"), ("echoed", "\(s.totals.echoed)"),
            ("lost", "\(s.totals.lost)"), ("corrupted", "\(s.totals.corrupted)"), ("duplicated", "\(s.totals.duplicated)"),
            ("out_of_order", "\(s.totals.outOfOrder)"), ("tool", s.tool),
        ]
        if let b = s.firmwareBanner { props.append(("firmware_banner", b)) }
        if let k = s.kernelVersion { props.append(("kernel_version", k)) }
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
            <system-out>\(Markup.escape(TextReport.render(s) + failureLines(s)))</system-out>
          </testsuite>
        """
        return Suite(xml: xml, tests: cases.count, failures: failures, errors: errors, time: s.durationSeconds)
    }

    static func testcase(_ suite: String, _ c: Case) -> String {
        let open = "    <testcase classname=\"\(Markup.escape(suite))\" name=\"\(Markup.escape(c.name))\" time=\"\(fmt(c.seconds))\""
        var inner: [String] = []
        if !c.body.isEmpty { inner.append(c.body) }
        if !c.out.isEmpty { inner.append("<system-out>\(Markup.escape(c.out))</system-out>") }
        return inner.isEmpty ? open + "/>" : open + ">\n" + inner.map { "      " + $0 }.joined(separator: "\n") + "\n    </testcase>"
    }

    /// Seconds as the schema wants them: plain decimal, no exponent, no unit.
    static func fmt(_ seconds: Double) -> String { String(format: "%.3f", max(0, seconds)) }
}
