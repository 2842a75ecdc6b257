import Foundation
import Glibc
import SoakCore
import SoakLinux
import SoakReports

/// What a run shows while it goes on: the console's lines (or, on a terminal, one status line
/// redrawn in place with the lines that matter printed above it) and the `--metrics` file. One
/// set of figures feeds them all (`LiveSink`).
final class LiveOutput: @unchecked Sendable {
    struct Metrics {
        var path: String
        var format: MetricsText.Format
    }

    private let quiet: Bool
    private let metrics: Metrics?
    private let metricsFile: AtomicFile?
    private let status: TerminalStatus?
    private let lock = NSLock()
    private var sink: LiveSink?
    /// The events folded before the sink exists (the run's start event; a resumed run's
    /// timeline so far): the figures, not the events.
    private var early = ProgressLine()
    private var metricsFailing = false

    /// `terminal`: stdout is a terminal that can redraw a line (not TERM=dumb, which has no
    /// clear-to-end-of-line).
    init(quiet: Bool, metrics: Metrics?,
         terminal: Bool = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb") {
        self.quiet = quiet
        self.metrics = metrics
        metricsFile = metrics.map { AtomicFile(path: $0.path) }
        status = !quiet && terminal ? TerminalStatus() : nil
        // Warnings on stderr share the terminal: the status line makes room for each.
        if let status { Warnings.setMakeRoom { status.clear() } }
    }

    /// The run's start (once, before `sink(next:)`): the metrics file exists from here on
    /// (state `starting`). A resumed run: `seen` is the fold of its timeline so far, which the
    /// figures go on from, and `events` what the resumed part wrote first.
    func begin(_ events: [Event], after seen: ProgressLine = ProgressLine()) {
        lock.lock()
        early = seen
        for e in events { _ = early.line(for: e) }
        let figures = early.figures
        lock.unlock()
        writeMetrics(figures)
    }

    /// The sink the runner emits into: everything goes on to `next` (the timeline).
    func sink(next: EventSink) -> EventSink {
        lock.lock()
        defer { lock.unlock() }
        let sink = LiveSink(next: next, seen: early) { [weak self] event, line, figures in
            self?.observe(event, line: line, figures: figures)
        }
        self.sink = sink
        return sink
    }

    private func observe(_ event: Event, line: String?, figures: LiveFigures) {
        if !quiet {
            if let status {
                // On a terminal the interval lines become the status line; the rest print above it.
                // At the end the status line goes first: the last lines and the verdict stand alone.
                if event.type == .runEnd { status.stop() }
                if let line, event.type != .interval { status.print(line) }
                switch event.type {
                case .runEnd: break
                case .interval, .phaseStart, .hang, .linkLost, .recovery: status.update(figures, now: true)
                // Findings and anomalies may come by the thousand a second: the line keeps up, the terminal is not flooded.
                default: status.update(figures, now: false)
                }
            } else if let line {
                print(line)
                fflush(nil)
            }
        }
        switch event.type {
        case .interval, .phaseStart, .hang, .linkLost, .recovery, .runEnd: writeMetrics(figures)
        default: break
        }
    }

    /// After the reports: the status line goes (the verdict prints on a line of its own) and
    /// the metrics file gets the final figures with the verdict.
    func finish(_ summary: RunSummary) {
        status?.stop()
        lock.lock()
        var figures = sink?.figures ?? early.figures
        lock.unlock()
        figures.finish(summary)
        writeMetrics(figures)
    }

    private func writeMetrics(_ figures: LiveFigures) {
        guard let metrics, let metricsFile else { return }
        do {
            try metricsFile.write(MetricsText.render(figures, format: metrics.format))
            lock.lock(); metricsFailing = false; lock.unlock()
        } catch {
            // Said once per spell of failures: a full disk must not flood stderr every interval.
            lock.lock()
            let first = !metricsFailing
            metricsFailing = true
            lock.unlock()
            if first { Warnings.write("--metrics: \(ErrorText.reason(error)); the soak goes on, the file is tried again every interval") }
        }
    }
}

/// One status line at the bottom of a terminal: `\r`, the line, clear to its end. Lines printed
/// through it go above the status line (cleared first, redrawn after), so they are never mixed
/// with it. Redrawn every second between events, so the elapsed time moves.
final class TerminalStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var figures: LiveFigures?
    private var figuresAt: UInt64 = 0
    private var drawnAt: UInt64 = 0
    private var shown = false
    private var stopped = false

    init() {
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: 1)
                guard let self, self.tick() else { return }
            }
        }
        thread.name = "status-line"
        thread.start()
    }

    /// New figures; drawn at once when `now`, else when the last drawing is 200 ms old (the
    /// timer draws them otherwise).
    func update(_ f: LiveFigures, now: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        figures = f
        figuresAt = MonotonicClock.read()
        if now || figuresAt &- drawnAt >= 200_000_000 { draw(elapsed: nil) }
    }

    /// Prints `line` above the status line.
    func print(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        erase()
        write(line + "\n")
        if !stopped { draw(elapsed: nil) }
    }

    /// Takes the status line off the terminal for good.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        erase()
        stopped = true
    }

    /// Takes the status line off until the next update (before something else writes to the terminal).
    func clear() {
        lock.lock()
        defer { lock.unlock() }
        erase()
    }

    /// false once stopped: the timer thread ends.
    private func tick() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return false }
        if let f = figures, f.state == .running || f.state == .recovering || f.state == .starting {
            draw(elapsed: f.elapsed + Double(MonotonicClock.read() &- figuresAt) / 1e9)
        }
        return true
    }

    private func draw(elapsed: Double?) {
        guard let f = figures else { return }
        let width = FileDescriptor(rawValue: STDOUT_FILENO).terminalColumns ?? 80
        write("\r" + StatusLine.render(f, elapsed: elapsed, width: width) + "\u{1B}[K")
        shown = true
        drawnAt = MonotonicClock.read()
    }

    private func erase() {
        guard shown else { return }
        write("\r\u{1B}[K")
        shown = false
    }

    private func write(_ text: String) {
        Swift.print(text, terminator: "")
        fflush(nil)
    }
}
