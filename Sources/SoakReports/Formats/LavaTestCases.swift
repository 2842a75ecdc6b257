import Foundation

/// A run's results as LAVA takes them from a test action: one `lava-test-case NAME --result
/// pass|fail|skip` per JUnit test case (the same list, `JUnitReport.cases`), then the measurements:
/// `latency-p99` (us), `messages-per-second`, and `mtbf` (s) when the link failed. Each element
/// is the arguments of one `lava-test-case` call. Pure: `rpmsg-soak run --lava` runs them.
public enum LavaTestCases {
    /// The program LAVA puts on the test shell's PATH.
    public static let program = "lava-test-case"

    public static func calls(_ s: RunSummary) -> [[String]] {
        var calls = JUnitReport.cases(s).map { [sanitised($0.name), "--result", result($0)] }
        func measurement(_ name: String, _ value: String, _ units: String) {
            calls.append([name, "--result", "pass", "--measurement", value, "--units", units])
        }
        if let l = s.latencyMicros { measurement("latency-p99", "\(l.p99)", "us") }
        measurement("messages-per-second", String(format: "%.1f", s.messagesPerSecond), "msg/s")
        if s.reliability.failures > 0, let mtbf = s.reliability.mtbfSeconds {
            measurement("mtbf", String(format: "%.1f", mtbf), "s")
        }
        return calls
    }

    /// LAVA's result for a JUnit case: pass, skip (a phase the run did not reach) or fail
    /// (a failure or an error).
    public static func result(_ c: JUnitReport.Case) -> String {
        switch c.outcome {
        case .passed: return "pass"
        case .skipped: return "skip"
        case .failed, .error: return "fail"
        }
    }

    /// A test case name as LAVA requires it: letters, digits, `_`, `-` and `.`; any other
    /// character becomes `_`. The case names already are (`window.integrity`, `link.hangs`).
    public static func sanitised(_ name: String) -> String {
        String(name.unicodeScalars.map { c -> Character in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || "_-.".unicodeScalars.contains(c)) ? Character(c) : "_"
        })
    }
}
