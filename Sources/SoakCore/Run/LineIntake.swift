/// The runner's side of the UART and kernel-log inbox: takes what the readers queued, in slices
/// so a flood cannot starve the sender, keeps it for the logs, has the watcher judge it, and
/// gathers what a flood kept out of the logs until it is due on the timeline.
struct LineIntake {
    let watch: SoakRunner.Watch
    /// Lines taken from the inbox and not judged yet.
    private var backlog: [LineInbox.Item] = []
    private var next = 0
    /// Lines a flood thinned, per source, not yet on the timeline.
    private var notKept: [LineInbox.Thinned] = []

    /// How long one turn of the runner's loop may judge lines before it goes back to sending.
    static let budget: UInt64 = 1_000_000
    /// How long a turn judges at least, even when a send is due: a flood at `rate: max` (a send
    /// always due) is still judged, and a timetabled send is held back by no more than this.
    static let minimumSlice: UInt64 = 50_000

    /// The judging budget of a turn whose next send, loss or snapshot is due at `due`: the time
    /// until then, within `minimumSlice` and `budget` (issue 14: a 1 ms slice made sends at
    /// 1000 msg/s late by up to 1 ms while UART lines came in).
    static func slice(untilDue due: UInt64, now: UInt64) -> UInt64 {
        let left = due > now ? due - now : 0
        return Swift.min(budget, Swift.max(minimumSlice, left))
    }
    /// How often a flood that goes on is noted on the timeline.
    static let notKeptEvery: UInt64 = 5_000_000_000

    init(watch: SoakRunner.Watch) { self.watch = watch }

    /// Lines queued or taken but not judged yet.
    var hasBacklog: Bool { next < backlog.count || !watch.inbox.isEmpty }

    /// Judges what is queued, oldest first, into `notes`; with a `budget` (ns) it stops after
    /// that long and leaves the rest (`hasBacklog`), without it takes everything.
    mutating func take(into watcher: inout LineWatcher, notes: inout [LineWatcher.Note], clock: SoakClock, now: UInt64, budget: UInt64?) {
        let started = clock.now()
        var taken = 0
        while true {
            if next >= backlog.count {
                if watch.inbox.isEmpty { break }
                watch.inbox.drain(into: &backlog)
                next = 0
            }
            let item = backlog[next]
            next += 1
            if case .line(let line) = item { watch.record(line) }
            watcher.take(item, into: &notes)
            taken += 1
            if let budget, taken & 63 == 0, clock.now() &- started >= budget { break }
        }
        if taken > 0 { watch.flush() }
        if next >= backlog.count, backlog.count > 4096 {
            // A flood's batch: give its memory back.
            backlog = []
            next = 0
        }
        watcher.dropped(watch.inbox.takeDropped(), at: now, into: &notes)
        for t in watch.inbox.takeThinned() {
            if let i = notKept.firstIndex(where: { $0.source == t.source }) {
                notKept[i].count += t.count
                notKept[i].last = t.last
            } else {
                notKept.append(t)
            }
        }
    }

    /// What a flood kept out of the logs, once it has gone on for `notKeptEvery` or (`force`) now.
    mutating func dueNotKept(now: UInt64, force: Bool) -> [LineInbox.Thinned] {
        guard !notKept.isEmpty,
              force || notKept.contains(where: { now > $0.first && now - $0.first >= Self.notKeptEvery }) else { return [] }
        defer { notKept.removeAll() }
        return notKept
    }
}
