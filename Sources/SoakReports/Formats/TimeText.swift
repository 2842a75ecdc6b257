import Foundation

/// How the HTML page and the sentences shared by the reports put a length of time and a point in
/// the run into words, so that a chart's tooltip and the table beside it read the same.
enum TimeText {
    /// `12.3 s`, `4 min 05 s`, `12 h 03 min`.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 60 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    /// A point in the run: `12.345 s` in the first ten minutes, `1:02:03.4` (h:mm:ss) later.
    static func runTime(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 600 { return String(format: "%.3f s", s) }
        let h = Int(s / 3600)
        let m = Int(s.truncatingRemainder(dividingBy: 3600) / 60)
        return String(format: "%d:%02d:%04.1f", h, m, s.truncatingRemainder(dividingBy: 60))
    }
}
