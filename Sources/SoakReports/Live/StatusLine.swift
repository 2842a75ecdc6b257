import Foundation
import SoakCore

/// The one line a terminal shows while a run goes on, redrawn in place:
///
///     0:00:12 of 0:00:32, 0:00:20 left | window | 40/s of 40/s | run: sent 480, echoed 479 | p99 12.3 ms | link failures 0
///
/// or, on a narrow terminal, `0:00:12 0:00:20 left window 40/s sent 480 echoed 479 p99 12.3 ms failures 0`.
/// The long form gives the rate the phase asks for after the one it gets (not for `rate: max`).
/// A pure function of the figures; the terminal control (carriage return, clear to the end of
/// the line) is the caller's. The line never reaches the terminal's last column: a line that
/// wraps can no longer be redrawn with a carriage return.
public enum StatusLine {
    /// `elapsed` overrides the figures' own (a redraw between events); `width` is the terminal's.
    /// The first of four ever shorter forms that fits is used, then the shortest cut to fit.
    public static func render(_ f: LiveFigures, elapsed: Double? = nil, width: Int = 80) -> String {
        let now = max(elapsed ?? f.elapsed, f.elapsed)
        let clock = ProgressLine.clock
        let left = max(0, f.plannedSeconds - now)
        var state = f.phase ?? "starting"
        switch f.state {
        case .recovering: state += ", RECOVERING"
        case .starting, .running: break
        default: state += ", \(f.state.rawValue)"
        }
        let t = f.totals
        let rate = "\(Int(f.rate.rounded()))/s"
        // What the phase asks for beside what it gets, where there is room: a link that cannot
        // keep up shows at a glance.
        let rateAsked = rate + (f.askedRate.map { " of \(rateText($0))/s" } ?? "")
        let p99 = "p99 " + (f.interval.map { CriteriaCheck.formatMicros($0.p99) } ?? "-")
        let recovered = f.failureCount > 0 || f.recovered > 0 ? ", \(f.recovered) recovered" : ""
        let bad = [("lost", t.lost), ("corrupted", t.corrupted), ("duplicated", t.duplicated), ("out of order", t.outOfOrder)]
            .filter { $0.1 > 0 }.map { ", \($0.0) \($0.1)" }.joined()
        let forms = [
            "\(clock(now)) of \(clock(f.plannedSeconds)), \(clock(left)) left | \(state) | \(rateAsked) | run: sent \(t.sent), echoed \(t.echoed)\(bad) | \(p99) | link failures \(f.failureCount)\(recovered)",
            "\(clock(now)) \(clock(left)) left \(state) \(rate) sent \(t.sent) echoed \(t.echoed)\(bad) \(p99) failures \(f.failureCount)\(recovered)",
            "\(clock(now))/\(clock(f.plannedSeconds)) \(state) \(rate) sent \(t.sent) echoed \(t.echoed) \(p99) failures \(f.failureCount)\(recovered)",
            "\(clock(now)) \(state) \(rate) sent \(t.sent) echoed \(t.echoed) \(p99) fail \(f.failureCount)/\(f.recovered) rec",
        ]
        let room = max(width - 1, 1)
        return fit(forms.first { clean($0).count <= room } ?? forms[forms.count - 1], width: width)
    }

    /// `50`, `0.2`, `16.5`: whole rates without a fraction, others with as few digits as they need.
    static func rateText(_ rate: Double) -> String {
        if rate >= 10 || rate == rate.rounded() { return "\(Int(rate.rounded()))" }
        var text = String(format: "%.2f", rate)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    static func clean(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }

    /// At most `width - 1` characters, control characters (from a phase name) made visible.
    static func fit(_ text: String, width: Int) -> String {
        let visible = clean(text)
        let room = max(width - 1, 1)
        guard visible.count > room else { return visible }
        return String(visible.prefix(max(room - 1, 0))) + "…"
    }
}
