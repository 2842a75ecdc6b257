import Foundation
import SoakCore

/// The one line a terminal shows while a run goes on, redrawn in place:
///
///     0:00:12 of 0:00:32, 0:00:20 left | window | 40/s | run: sent 480, echoed 479 | p99 12.3 ms | link failures 0
///
/// A pure function of the figures; the terminal control (carriage return, clear to the end of
/// the line) is the caller's. The line never reaches the terminal's last column: a line that
/// wraps can no longer be redrawn with a carriage return.
public enum StatusLine {
    /// `elapsed` overrides the figures' own (a redraw between events); `width` is the terminal's.
    public static func render(_ f: LiveFigures, elapsed: Double? = nil, width: Int = 80) -> String {
        let now = max(elapsed ?? f.elapsed, f.elapsed)
        var parts: [String] = []
        let left = max(0, f.plannedSeconds - now)
        parts.append("\(ProgressLine.clock(now)) of \(ProgressLine.clock(f.plannedSeconds)), \(ProgressLine.clock(left)) left")
        var where_ = f.phase ?? "starting"
        switch f.state {
        case .recovering: where_ += ", RECOVERING"
        case .starting, .running: break
        default: where_ += ", \(f.state.rawValue)"
        }
        parts.append(where_)
        parts.append("\(Int(f.rate.rounded()))/s")
        var counts = "run: sent \(f.totals.sent), echoed \(f.totals.echoed)"
        let t = f.totals
        let bad = [("lost", t.lost), ("corrupted", t.corrupted), ("duplicated", t.duplicated), ("out of order", t.outOfOrder)]
            .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        if !bad.isEmpty { counts += ", " + bad.joined(separator: ", ") }
        parts.append(counts)
        parts.append("p99 " + (f.interval.map { CriteriaCheck.formatMicros($0.p99) } ?? "-"))
        parts.append("link failures \(f.failureCount)" + (f.failureCount > 0 || f.recovered > 0 ? ", \(f.recovered) recovered" : ""))
        return fit(parts.joined(separator: " | "), width: width)
    }

    /// At most `width - 1` characters, control characters (from a phase name) made visible.
    static func fit(_ text: String, width: Int) -> String {
        let clean = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        let room = max(width - 1, 1)
        guard clean.count > room else { return clean }
        return String(clean.prefix(max(room - 1, 0))) + "…"
    }
}
