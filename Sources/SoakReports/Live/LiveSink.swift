import Foundation
import SoakCore

/// Passes every event on to `next` (the timeline), folds it into the run's figures and hands
/// the event, its console line (nil when it is not worth one) and the figures to `observe`: the
/// console, the terminal's status line and the `--metrics` file all see one set of figures.
public final class LiveSink: EventSink, @unchecked Sendable {
    private let next: EventSink
    private let lock = NSLock()
    private var progress = ProgressLine()
    private let observe: (Event, String?, LiveFigures) -> Void

    /// `seen`: the events already on the timeline (the run's start, a resumed run's earlier
    /// part), folded without passing them on; the figures and the console go on from them.
    public init(next: EventSink, seen: ProgressLine = ProgressLine(), observe: @escaping (Event, String?, LiveFigures) -> Void) {
        self.next = next
        self.observe = observe
        progress = seen
    }

    public func emit(_ event: Event) {
        next.emit(event)
        // The lock keeps a reader of `figures` on another thread from seeing an event half
        // folded in; the observer runs outside it, so it may take locks of its own.
        lock.lock()
        let line = progress.line(for: event)
        let figures = progress.figures
        lock.unlock()
        observe(event, line, figures)
    }

    /// The figures so far.
    public var figures: LiveFigures {
        lock.lock()
        defer { lock.unlock() }
        return progress.figures
    }
}
