import Foundation
import Histogram

/// Drives one soak over an open link: the schedule decides when and what to send, the verifier
/// checks every echo, link health watches for hangs, the line watcher judges the UART and the
/// kernel log, and on a failure the evidence is kept and the recovery strategy climbs its
/// ladder. Every step lands on the timeline.
///
/// One thread, one loop, no allocation per message: wait (on the link) until the next thing
/// is due, read what arrived, send what is due. Every other wait goes through the `Waiter`,
/// so on a virtual clock the whole run, failures and recoveries included, never sleeps.
public final class SoakRunner {
    public struct Outcome: Sendable {
        public var end: RunEnd
        public var hangs: Int
        public var linkLosses: Int
    }

    /// The M7 UART and kernel log as the runner sees them: lines queued by their readers
    /// (threads, or a virtual board), and where to keep them (uart.log, kernel.log).
    public struct Watch {
        public var inbox: LineInbox
        public var uartWatched: Bool
        public var kernelWatched: Bool
        public var record: (SourceLine) -> Void
        /// The UART line that says the firmware is up (the board file's `uart.ready`): after a
        /// power cycle or M7 restart the probe waits for it, up to `readyTimeout`.
        public var ready: NSRegularExpression?
        public var readyTimeout: SoakDuration
        /// What happened to a source (opened, lost, overrun), for its log: `-- lost: ...`.
        public var recordNotice: (SourceLine.Source, String, UInt64) -> Void
        /// After each batch of lines: hand the logs' buffered lines to the kernel.
        public var flush: () -> Void
        /// At the end of the run: stop the readers, so every line they read is judged and
        /// logged before `run_end`.
        public var stopSources: () -> Void = {}
        public init(inbox: LineInbox, uartWatched: Bool, kernelWatched: Bool, ready: NSRegularExpression? = nil,
                    readyTimeout: SoakDuration = .seconds(30),
                    recordNotice: @escaping (SourceLine.Source, String, UInt64) -> Void = { _, _, _ in },
                    flush: @escaping () -> Void = {},
                    record: @escaping (SourceLine) -> Void = { _ in }) {
            self.inbox = inbox; self.uartWatched = uartWatched; self.kernelWatched = kernelWatched; self.record = record
            self.ready = ready; self.readyTimeout = readyTimeout; self.recordNotice = recordNotice; self.flush = flush
        }
    }

    let profile: Profile
    /// The open link; replaced when a recovery step brings it back.
    public private(set) var link: Link
    let watch: Watch?
    let clock: SoakClock
    let waiter: Waiter
    let recorder: TimelineRecorder
    let shouldStop: () -> Bool
    let runStartMono: UInt64
    let strategy: RecoveryStrategy?
    /// `run --resume`: where the previous part of the run stopped.
    let resume: ResumePoint?

    var watcher: LineWatcher
    var verifier: EchoVerifier
    var health: LinkHealth
    var traffic: TrafficLoop
    /// Every round trip of the run so far (the verifier holds only the current interval).
    public var totalLatency: LatencyCounts { traffic.totalLatency }
    /// When the current cycle began (run start, or the last successful recovery): evidence and
    /// diagnosis look no further back.
    private var cycleStartAt: UInt64 = 0
    private var hangs = 0
    private var linkLosses = 0
    /// The UART and kernel-log lines queued for the watcher (nil: nothing watched).
    private var intake: LineIntake?
    /// The tester's own cost, put into the run_end event (`SelfStats.measure` in a real run;
    /// nil in tests, whose timelines stay deterministic).
    public var measureSelf: (() -> SelfStats)?

    /// After a hang-up or a fatal finding, how long to keep listening to the UART and the kernel
    /// before the diagnosis: the kernel line of a removed tty, or a UART that goes on printing,
    /// come a moment after the event that ended the link.
    static let evidenceSettle: UInt64 = 1_000_000_000

    /// - waiter: how waits outside the link pass; default: real time on the inbox.
    /// - recovery: the board's recovery steps; used when the profile has a `recovery:` policy.
    /// - network: the round trip of the path to a remote board, recorded with each interval.
    /// - resume: a resumed run: counting goes on from its counts, the schedule from its phase.
    /// - Throws: a rule or heartbeat pattern that does not compile (the loader checks them
    ///   first; a run never goes on with an empty rule set).
    public init(profile: Profile, link: Link, clock: SoakClock, waiter: Waiter? = nil, sink: EventSink,
                runStartMono: UInt64, runStartWall: Date, watch: Watch? = nil, recovery: [RecoveryStep] = [],
                network: NetworkProbe? = nil, resume: ResumePoint? = nil, shouldStop: @escaping () -> Bool) throws(ConfigError) {
        self.profile = profile
        self.link = link
        self.watch = watch
        self.clock = clock
        self.waiter = waiter ?? InboxWaiter(clock: clock, inbox: watch?.inbox)
        self.recorder = TimelineRecorder(sink: sink, clock: clock, runStartMono: runStartMono, runStartWall: runStartWall)
        self.shouldStop = shouldStop
        self.runStartMono = runStartMono
        self.resume = resume
        watcher = try LineWatcher(rules: try RuleSet(profile.effectiveRules), heartbeat: profile.heartbeat,
                                  ready: watch?.ready, start: runStartMono)
        strategy = profile.recovery.map { RecoveryStrategy(policy: $0, steps: recovery) }
        verifier = EchoVerifier(lossTimeout: profile.link.lossTimeout)
        health = LinkHealth(hangTimeout: profile.link.hangTimeout)
        traffic = TrafficLoop(profile: profile)
        traffic.network = network
        watch?.inbox.setTriage(watcher.triage)
        intake = watch.map(LineIntake.init)
    }

    public func run() -> Outcome {
        drainWaiting(after: "open")
        let start = clock.now()
        watcher.started(at: start)
        if let resume {
            verifier.continueCounting(from: resume.counters)
            traffic.begin(at: start, recorder: recorder,
                          resuming: (resume.phaseIndex, UInt64(max(0, resume.soakedInPhase) * 1e9)))
        } else {
            traffic.begin(at: start, recorder: recorder)
        }
        cycleStartAt = start
        var end: (reason: RunEnd.Reason, detail: String?)

        while true {
            let stop = soakUntilFailure()
            end = (stop.reason, stop.detail)
            // The link failed: recover it and soak on, if the profile says how and the limits allow.
            guard stop.reason == .linkFailed, !traffic.draining, let strategy, let policy = profile.recovery else { break }
            switch recover(strategy, policy: policy) {
            case .recovered(let back):
                link = back
                traffic.resume(now: clock.now())
                watcher.clearRecoverFinding()
                health.reset()
                continue
            case .gaveUp(let why):
                end = (.infrastructure, why)
            case .stopped:
                end = (.interrupted, "stopped by a signal during recovery")
            }
            break
        }

        let endAt = clock.now()
        if end.reason == .interrupted { verifier.settleInterrupted() }
        watch?.stopSources()
        takeLines(now: endAt)
        noteLinesNotKept(now: endAt, force: true)
        traffic.emitInterval(at: endAt, verifier: &verifier, recorder: recorder)
        var result = RunEnd(reason: end.reason, detail: end.detail, totals: verifier.counters, seconds: Double(endAt &- runStartMono) / 1e9)
        result.selfStats = measureSelf?()
        var e = recorder.event(.runEnd, at: endAt, message: end.detail)
        e.end = result
        recorder.emit(e)
        return Outcome(end: result, hangs: hangs, linkLosses: linkLosses)
    }

    /// Soaks until the schedule is done, a stop is requested, or the link fails.
    private func soakUntilFailure() -> (reason: RunEnd.Reason, detail: String?) {
        while true {
            let now = clock.now()
            if shouldStop() { return (.interrupted, "stopped by a signal") }
            if traffic.turn(now: now, verifier: &verifier, recorder: recorder) == .finished { return (.completed, nil) }
            if health.isHung(now: now) {
                hangs += 1
                let failure = describeFailure(.hang, now: now,
                    reason: "no echo for \(profile.link.hangTimeout) while \(verifier.outstanding) message(s) were in flight")
                return (.linkFailed, failure)
            }
            traffic.snapshotIfDue(now: now, verifier: &verifier, recorder: recorder)
            switch traffic.send(now: now, clock: clock, link: link, verifier: &verifier, health: &health) {
            case .ok: break
            case .hangup(let why): return (.linkFailed, lostLink(why, now: now))
            case .failed(let why): return (.infrastructure, "\(link.path): \(why)")
            }

            // Sleep until something is due: an echo, a send, a loss, a hang, a snapshot.
            let deadline = traffic.nextDeadline(verifier: verifier, health: health)
            let after = clock.now()
            // Lines still waiting to be judged: look at the link without sleeping.
            let timeout = deadline > after && intake?.hasBacklog != true ? min(deadline - after, TrafficLoop.maxWait) : 0
            let ready = link.wait(forWrite: traffic.writePending, timeout: timeout)
            if ready.readable || ready.hangup {
                switch readAvailable() {
                case .ok: break
                case .hangup(let why): return (.linkFailed, lostLink(why, now: clock.now()))
                case .failed(let why): return (.infrastructure, "\(link.path): \(why)")
                }
            }
            // Judging lines yields to the next send: a flood's backlog waits, the timetable does not.
            let judged = clock.now()
            let due = traffic.nextDeadline(verifier: verifier, health: health)
            takeLines(now: judged, budget: LineIntake.slice(untilDue: due, now: judged))
            if let r = watcher.recoverFinding {
                let at = clock.now()
                let failure = describeFailure(.finding, now: at,
                    reason: "\(r.finding.source?.rawValue ?? "") \(r.finding.findingClass): \(r.finding.line ?? r.finding.explanation)")
                return (.linkFailed, failure)
            }
        }
    }

    // MARK: recovery

    private func recover(_ strategy: RecoveryStrategy, policy: RecoveryPolicy) -> RecoveryStrategy.Outcome {
        let context = RecoveryContext(policy: policy, clock: clock, waiter: waiter, recorder: recorder, interrupted: shouldStop)
        let hooks = RecoveryStrategy.Hooks(
            before: { [self] step in
                takeLines(now: clock.now())
                watcher.awaitReady()
                if step.restartsFirmware { watcher.expectReboot(until: clock.now() &+ policy.bootTimeout.nanoseconds) }
            },
            confirm: { [self] step, opened in
                link = opened
                // The banner of the board we just restarted may come until it has booted.
                if step.restartsFirmware { watcher.expectReboot(until: clock.now() &+ policy.bootTimeout.nanoseconds) }
                if step.restartsFirmware, let why = waitForReady() { return why }
                drainWaiting(after: "reopen (\(step.name.rawValue))")
                if probe(timeout: policy.probeTimeout) { return nil }
                return "the link opened but a probe was not echoed within \(policy.probeTimeout)"
            },
            record: { [self] r in
                takeLines(now: clock.now())
                emitRecovery(r, at: clock.now())
                if r.succeeded {
                    cycleStartAt = clock.now()
                    // The banner of a board we power-cycled is expected until it has been read.
                    if r.step != .reopen { watcher.expectReboot(until: cycleStartAt &+ 3_000_000_000) }
                }
            })
        return strategy.recover(closing: link, context: context, hooks: hooks)
    }

    /// After a power cycle or M7 restart: waits for the board file's UART ready line. Returns
    /// why the board is not ready, or nil (ready, or no ready line configured).
    private func waitForReady() -> String? {
        guard let watch, let ready = watch.ready else { return nil }
        let deadline = clock.now() &+ watch.readyTimeout.nanoseconds
        while watcher.readySeenAt == nil {
            takeLines(now: clock.now())
            if watcher.readySeenAt != nil { break }
            if clock.now() >= deadline { return "the UART did not print a line matching /\(ready.pattern)/ within \(watch.readyTimeout) (uart.ready)" }
            if shouldStop() { return "interrupted" }
            waiter.wait(until: deadline)
        }
        return nil
    }

    /// Sends one message and waits for its echo.
    private func probe(timeout: SoakDuration) -> Bool {
        let deadline = clock.now() &+ timeout.nanoseconds
        let before = verifier.counters.echoed
        guard traffic.sendProbe(link: link, deadline: deadline, clock: clock, verifier: &verifier, health: &health) else {
            health.reset()
            return false
        }
        while clock.now() < deadline {
            let ready = link.wait(forWrite: false, timeout: min(deadline &- clock.now(), TrafficLoop.maxWait))
            if ready.readable || ready.hangup {
                if case .ok = readAvailable() {} else { break }
            }
            if verifier.counters.echoed > before { return true }
        }
        _ = verifier.abandonOutstanding()
        health.reset()
        return false
    }

    private func emitRecovery(_ r: RecoveryRecord, at: UInt64) {
        let outcome = switch r.outcome { case .succeeded: "link back"; case .skipped: "skipped"; case .failed: "did not help" }
        var e = recorder.event(.recovery, at: at, message: "\(r.step.rawValue): \(outcome) (\(r.detail))")
        e.recovery = r
        recorder.emit(e)
    }

    // MARK: lines

    /// Takes what the UART and kernel-log readers queued: keeps it for the logs and the
    /// evidence, and puts what the watcher found on the timeline. With a `budget` (ns) it stops
    /// after that long and leaves the rest for the next turn; without, it takes everything queued.
    private func takeLines(now: UInt64, budget: UInt64? = nil) {
        var notes: [LineWatcher.Note] = []
        intake?.take(into: &watcher, notes: &notes, clock: clock, now: now, budget: budget)
        watcher.tick(now: now, into: &notes)
        emit(notes)
        noteLinesNotKept(now: now, force: false)
    }

    /// Puts the lines a flood thinned on the timeline and in the source's log: when the flood
    /// has gone on for a while, or (`force`) now.
    private func noteLinesNotKept(now: UInt64, force: Bool) {
        guard let due = intake?.dueNotKept(now: now, force: force), !due.isEmpty else { return }
        for t in due {
            let n = LinesNotKept(source: t.source, count: t.count, fromSeconds: Double(Int64(bitPattern: t.first &- runStartMono)) / 1e9,
                                 toSeconds: Double(Int64(bitPattern: t.last &- runStartMono)) / 1e9)
            watch?.recordNotice(t.source, "-- " + n.message, t.last)
            var e = recorder.event(.linesNotKept, at: t.last, message: n.message)
            e.notKept = n
            recorder.emit(e)
        }
        watch?.flush()
    }

    private func emit(_ notes: [LineWatcher.Note]) {
        for note in notes {
            switch note {
            case .finding(let f, let at):
                var e = recorder.event(.finding, at: at, message: "\(f.severity.rawValue) \(f.findingClass): \(f.explanation)")
                e.finding = f
                recorder.emit(e)
            case .source(let source, let message, let at, let warning):
                if let source { watch?.recordNotice(source, "-- " + message, at) }
                recorder.emit(recorder.event(warning ? .warning : .source, at: at, message: message))
            case .seen(let fact, let source, let at):
                var e = recorder.event(.source, at: at, message: "\(source.rawValue): \(fact.key == .firmware ? "firmware banner" : "kernel version"): \(fact.value)")
                e.seen = fact
                recorder.emit(e)
            }
        }
    }

    // MARK: the link

    /// Bytes waiting in a link that just opened are nobody's echo: read without sending (see
    /// `LinkDrain`) and put on the timeline, unjudged.
    static var drainQuiet: UInt64 { LinkDrain.quiet }

    private func drainWaiting(after what: String) {
        guard let message = LinkDrain.read(link, clock: clock, waiter: waiter, after: what) else { return }
        recorder.emit(recorder.event(.drained, at: clock.now(), message: message))
    }

    enum ReadResult { case ok, hangup(String), failed(String) }

    /// Reads what the link holds: until a read comes back short, or would block.
    private func readAvailable() -> ReadResult {
        while true {
            let progressBefore = verifier.counters.echoed &+ verifier.counters.corrupted
            var space = 0
            let io = verifier.withReadSpace { buffer in
                space = buffer.count
                return link.read(into: buffer)
            }
            switch io {
            case .done(let n, let at):
                verifier.commit(count: n, at: at)
                let progressAfter = verifier.counters.echoed &+ verifier.counters.corrupted
                if progressAfter != progressBefore {
                    if watcher.firstEchoAt == nil { watcher.firstEchoAt = at }
                    health.echoed(at: at, stillOutstanding: verifier.outstanding)
                }
                if verifier.hasAnomalies { traffic.flushAnomalies(&verifier, recorder: recorder) }
                // A read that did not fill the space emptied the device: the next poll says when
                // more has come (or the link hung up). Reading on to EAGAIN would cost a second
                // read(2) at every wake-up, a third of the system calls per message at window 16.
                if n < space { return .ok }
            case .wouldBlock: return .ok
            case .hangup(let why): return .hangup(why)
            case .failed(let why): return .failed(why)
            }
        }
    }

    private func lostLink(_ why: String, now: UInt64) -> String {
        linkLosses += 1
        verifier.expire(now: now)
        traffic.flushAnomalies(&verifier, recorder: recorder)
        return describeFailure(.linkLost, now: now, reason: "\(link.path): \(why)")
    }

    /// Keeps the evidence of a failure, puts it on the timeline, settles the verifier (what was
    /// in flight is unanswered) and returns the diagnosis.
    private func describeFailure(_ kind: LinkFailure.Kind, now: UInt64, reason: String) -> String {
        if kind != .hang, watch != nil {
            // Lines that come a moment after the event belong to its evidence.
            let until = now &+ Self.evidenceSettle
            var turns = 0
            while clock.now() < until && turns < 200 {
                waiter.wait(until: until)
                takeLines(now: clock.now())
                turns += 1
            }
        }
        takeLines(now: now)
        let failure = FailureEvidence.collect(kind, reason: reason, now: now, cycleStart: cycleStartAt,
                                              verifier: &verifier, lastEchoAt: health.lastEchoAt, watcher: watcher,
                                              longestWrite: traffic.takeLongestWrite(),
                                              uartWatched: watch?.uartWatched ?? false, kernelWatched: watch?.kernelWatched ?? false)
        var e = recorder.event(kind == .linkLost ? .linkLost : .hang, at: now, message: failure.reason)
        e.failure = failure
        recorder.emit(e)
        health.reset()
        return failure.evidence?.diagnosis ?? failure.reason
    }
}
