import SoakCore

/// `run --resume`: one pass over the timeline of the run that stopped, line by line, feeds
/// both things the resumed part needs: where the run stopped (`ResumePoint`) and the live
/// figures so far, which the console, the status line and `--metrics` go on from. Neither keeps
/// the events: a run resumed near the end of a 12-hour night must not hold its timeline
/// (issue 14).
public struct ResumeFold {
    public private(set) var point = ResumePoint.Builder()
    /// The console's fold of the events so far: the live figures, the finding classes explained.
    public private(set) var seen = ProgressLine()

    public init() {}

    public mutating func add(_ event: Event) {
        point.add(event)
        _ = seen.line(for: event)
    }

    /// The timeline at `path` folded. Throws the reader's `TimelineReader.Failure` (no file, a
    /// broken line, no events) or the point's `ResumePoint.Problem`; a torn last line is
    /// skipped (the resume drops it from the file).
    public static func read(path: String) throws -> (point: ResumePoint, seen: ProgressLine) {
        var fold = ResumeFold()
        _ = try TimelineReader.forEach(path: path) { fold.add($0) }
        return (try fold.point.finish(), fold.seen)
    }
}
