import Foundation

/// A bounded, thread-safe queue between the sources' threads and the runner's loop. It never
/// blocks a reader (a blocked UART reader would lose bytes in the kernel instead). When the
/// runner falls `capacity` lines behind, a flood is on: each further line is checked on the
/// reader's thread against the run's rules (`LineTriage`); a line no rule could match is not
/// queued, only counted per source with the times of the first and last (`takeThinned`), and a
/// line that could match is queued anyway. Only beyond `hardCapacity`, or without a triage,
/// is a line dropped unjudged (`takeDropped`).
public final class LineInbox: LineSink, @unchecked Sendable {
    public enum Item: Sendable, Equatable {
        case line(SourceLine)
        case notice(SourceLine.Source, SourceNotice, at: UInt64)
    }

    /// Lines of one source a flood kept out of the logs: every one checked, none could match.
    public struct Thinned: Sendable, Equatable {
        public var source: SourceLine.Source
        public var count: UInt64
        /// When the first and the last of them were read (the run's monotonic clock).
        public var first: UInt64
        public var last: UInt64
    }

    private let lock = NSCondition()
    private var items: [Item] = []
    private let capacity: Int
    private let hardCapacity: Int
    private var triage: LineTriage?
    private var thinned: [Thinned] = []
    public private(set) var dropped: UInt64 = 0

    public init(capacity: Int = 20_000, hardCapacity: Int? = nil) {
        self.capacity = capacity
        self.hardCapacity = hardCapacity ?? capacity * 2
    }

    /// The rules that decide what a flood may thin; until set, a full inbox drops unjudged.
    public func setTriage(_ triage: LineTriage) { lock.withLock { self.triage = triage } }

    public func line(_ line: SourceLine) {
        let (full, triage) = lock.withLock { (items.count >= capacity, self.triage) }
        guard full else { return push(.line(line)) }
        // Judged outside the lock: the runner's drain is not held up by the check.
        let notable = triage?.isNotable(line)
        lock.withLock {
            if notable == true, items.count < hardCapacity {
                items.append(.line(line))
                lock.signal()
            } else if notable == false {
                if let i = thinned.firstIndex(where: { $0.source == line.source }) {
                    thinned[i].count += 1
                    thinned[i].last = line.at
                } else {
                    thinned.append(Thinned(source: line.source, count: 1, first: line.at, last: line.at))
                }
            } else {
                dropped += 1
            }
        }
    }

    public func notice(_ source: SourceLine.Source, _ notice: SourceNotice, at: UInt64) { push(.notice(source, notice, at: at)) }

    private func push(_ item: Item) {
        lock.withLock {
            if items.count >= hardCapacity {
                dropped += 1
                return
            }
            items.append(item)
            lock.signal()
        }
    }

    /// Waits until something is queued or `seconds` have passed.
    public func wait(seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        if items.isEmpty { _ = lock.wait(until: Date().addingTimeInterval(seconds)) }
    }

    /// Everything queued so far, oldest first.
    public func drain() -> [Item] {
        var out: [Item] = []
        drain(into: &out)
        return out
    }

    /// Everything queued so far, oldest first, into `out` (emptied first; the two arrays swap
    /// storage, so a loop that drains into the same array does not allocate).
    public func drain(into out: inout [Item]) {
        out.removeAll(keepingCapacity: true)
        lock.withLock { swap(&items, &out) }
    }

    public var isEmpty: Bool { lock.withLock { items.isEmpty } }

    /// Lines dropped unjudged since the last call.
    public func takeDropped() -> UInt64 {
        lock.withLock {
            defer { dropped = 0 }
            return dropped
        }
    }

    /// Lines thinned since the last call, per source.
    public func takeThinned() -> [Thinned] {
        lock.withLock {
            defer { thinned.removeAll() }
            return thinned
        }
    }
}

/// Which lines matter to a run: those a rule, the ready line, the firmware banner, the
/// heartbeat or the kernel's version line could match (their required text is there). Made
/// once from the watcher's patterns; immutable, so the readers' threads may ask it.
public final class LineTriage: Sendable {
    let rules: RuleSet
    let uart: [Pattern]
    let kernel: [Pattern]

    init(rules: RuleSet, uart: [Pattern], kernel: [Pattern]) {
        self.rules = rules; self.uart = uart; self.kernel = kernel
    }

    /// False only when nothing the run looks for can be in `line`.
    public func isNotable(_ line: SourceLine) -> Bool {
        if rules.mayMatch(line) { return true }
        return (line.source == .uart ? uart : kernel).contains { $0.mayMatch(line.text) }
    }
}
