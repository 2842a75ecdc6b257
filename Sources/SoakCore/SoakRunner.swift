import Foundation
import Histogram

/// Drives one soak over an open link: the schedule decides when and what to send, the verifier
/// checks every echo, link health watches for hangs, and every step lands on the timeline.
///
/// One thread, one loop, no allocation per message: wait (poll) until the next thing is due,
/// read what arrived, send what is due.
public final class SoakRunner {
    public struct Outcome: Sendable {
        public var end: RunEnd
        public var hangs: Int
        public var linkLosses: Int
    }

    /// The M7 UART and kernel log as the runner sees them: lines queued by their readers'
    /// threads, and where to keep them (uart.log, kernel.log).
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
        public init(inbox: LineInbox, uartWatched: Bool, kernelWatched: Bool, ready: NSRegularExpression? = nil,
                    readyTimeout: SoakDuration = .seconds(30),
                    recordNotice: @escaping (SourceLine.Source, String, UInt64) -> Void = { _, _, _ in },
                    record: @escaping (SourceLine) -> Void = { _ in }) {
            self.inbox = inbox; self.uartWatched = uartWatched; self.kernelWatched = kernelWatched; self.record = record
            self.ready = ready; self.readyTimeout = readyTimeout; self.recordNotice = recordNotice
        }
    }

    let profile: Profile
    /// The open link; replaced when a recovery step reopens it.
    public private(set) var link: Link
    let watch: Watch?
    let control: BoardControl?
    private var recoveries = 0
    private var consecutiveFailedRecoveries = 0
    /// When the current cycle began (run start, or the last successful recovery): evidence and
    /// diagnosis look no further back.
    private var cycleStartAt: UInt64 = 0
    /// Until then a firmware banner, a lost UART or a re-installed tty are our own power cycle's doing.
    private var expectedRebootUntil: UInt64 = 0
    /// Until then a firmware banner is the boot we started the run on, not a reboot.
    private var bootBannerUntil: UInt64 = 0
    /// When the UART last printed the ready line.
    private var readySeenAt: UInt64?
    let rules: RuleSet
    private var heartbeat: (regex: NSRegularExpression, within: UInt64, lastSeen: UInt64, reported: Bool)?
    /// Recent UART lines and kernel records, for the evidence of a failure.
    private var recentLines: [SourceLine] = []
    private var findings: [(at: UInt64, finding: Finding)] = []
    private var recoverFinding: (at: UInt64, finding: Finding)?
    private var firstEchoAt: UInt64?
    /// Sources that have been open at least once: a UART missing at start is not "lost".
    private var openedSources: Set<SourceLine.Source> = []
    static let evidenceWindow: UInt64 = 10_000_000_000
    /// After a hang-up or a fatal finding, how long to keep listening to the UART and the kernel
    /// before the diagnosis: the kernel line of a removed tty, or a UART that goes on printing,
    /// come a moment after the event that ended the link.
    static let evidenceSettle: UInt64 = 1_000_000_000
    let clock: SoakClock
    let sink: EventSink
    let shouldStop: () -> Bool
    let runStartMono: UInt64
    let runStartWall: Date

    var verifier: EchoVerifier
    var health: LinkHealth
    /// Every round trip of the run so far (the verifier holds only the current interval).
    public private(set) var totalLatency: LatencyHistogram = EchoVerifier.makeHistogram()
    private var sendBuffer = [UInt8](repeating: 0, count: FrameCodec.maxFrameSize)
    private var pendingLength = 0
    private var pendingOffset = 0
    /// When the message being written was due, if it had a due time (a fixed rate or a burst).
    private var pendingDue: UInt64?
    /// How late each scheduled send left, this interval, in microseconds.
    private var scheduleLag: LatencyHistogram = EchoVerifier.makeHistogram()
    private var hangs = 0
    private var linkLosses = 0
    private var nextInterval: UInt64 = 0
    private var lastIntervalAt: UInt64 = 0
    /// Anomalies go onto the timeline one by one up to this many per interval; the rest are
    /// only counted, so a link that corrupts everything cannot flood the log.
    static let anomalyEventsPerInterval = 200
    private var anomalyEvents = 0
    private var anomaliesNotListed: UInt64 = 0

    /// The longest the loop sleeps, so a stop request is seen promptly.
    static let maxWait: UInt64 = 100_000_000

    public init(profile: Profile, link: Link, clock: SoakClock, sink: EventSink,
                runStartMono: UInt64, runStartWall: Date, watch: Watch? = nil, control: BoardControl? = nil,
                shouldStop: @escaping () -> Bool) {
        self.profile = profile
        self.link = link
        self.watch = watch
        self.control = control
        rules = (try? RuleSet(profile.effectiveRules)) ?? ((try? RuleSet([])) ?? { fatalError("an empty rule set always compiles") }())
        if let h = profile.heartbeat, let re = try? NSRegularExpression(pattern: h.pattern) {
            heartbeat = (re, h.within.nanoseconds, runStartMono, false)
        }
        self.clock = clock
        self.sink = sink
        self.shouldStop = shouldStop
        self.runStartMono = runStartMono
        self.runStartWall = runStartWall
        verifier = EchoVerifier(lossTimeout: profile.link.lossTimeout)
        health = LinkHealth(hangTimeout: profile.link.hangTimeout)
    }

    func event(_ kind: Event.Kind, at mono: UInt64, message: String? = nil) -> Event {
        let seconds = Double(Int64(bitPattern: mono &- runStartMono)) / 1e9
        return Event(t: seconds, wall: WallTime.iso8601(runStartWall.addingTimeInterval(seconds)), type: kind, message: message)
    }

    public func run() -> Outcome {
        let start = clock.now()
        // A board that has just booted (the simulator, a relay we switched on) prints its banner
        // as the run starts; the UART reader may read it only after the first echo.
        bootBannerUntil = start &+ 2_000_000_000
        var schedule = TrafficSchedule(phases: profile.phases, start: start, seed: profile.seed)
        nextInterval = start &+ profile.reportInterval.nanoseconds
        lastIntervalAt = start
        emitPhase(0, at: start)

        var reason = RunEnd.Reason.completed
        var detail: String?
        var drainUntil: UInt64?
        /// Between phases: nothing is sent until the previous phase's echoes are in (or their
        /// loss timeout passed), so each phase's counts are its own.
        var settle: (until: UInt64, previous: Int)?

        soak: while true {
        loop: while true {
            var now = clock.now()
            if shouldStop() {
                reason = .interrupted
                detail = "stopped by a signal"
                break
            }
            if drainUntil == nil {
                let before = schedule.phaseIndex
                if schedule.advancePhase(now: now) {
                    if schedule.isFinished {
                        drainUntil = now &+ profile.link.drainTimeout.nanoseconds
                    } else if schedule.phaseIndex != before && settle == nil {
                        settle = (now &+ profile.link.lossTimeout.nanoseconds, before)
                    }
                }
            }
            if let s = settle, verifier.outstanding == 0 || now >= s.until {
                verifier.expire(now: now)
                flushAnomalies()
                emitInterval(at: now, phase: profile.phases[s.previous].name)
                if !schedule.isFinished { emitPhase(schedule.phaseIndex, at: now) }
                settle = nil
            }
            if let until = drainUntil, verifier.outstanding == 0 || now >= until {
                verifier.expire(now: .max)
                flushAnomalies()
                break
            }

            verifier.expire(now: now)
            if verifier.hasAnomalies { flushAnomalies() }

            if health.isHung(now: now) {
                hangs += 1
                let failure = describeFailure(.hang, now: now,
                    reason: "no echo for \(profile.link.hangTimeout) while \(verifier.outstanding) message(s) were in flight")
                emitFailure(failure, at: now)
                health.reset()
                reason = .linkFailed
                detail = failure.evidence?.diagnosis ?? failure.reason
                break
            }
            if now >= nextInterval {
                emitInterval(at: now, phase: currentPhaseName(schedule))
                nextInterval &+= profile.reportInterval.nanoseconds
                if nextInterval <= now { nextInterval = now &+ profile.reportInterval.nanoseconds }
            }

            // Send everything that is due and fits in the window.
            if drainUntil == nil {
                let window = schedule.phase.window
                while true {
                    if pendingLength == 0 {
                        guard settle == nil, verifier.outstanding < window, now >= schedule.nextDue,
                              now < schedule.phaseEnd else { break }
                        let length = schedule.nextSize()
                        pendingDue = schedule.hasTimetable ? schedule.nextDue : nil
                        let seq = UInt32(truncatingIfNeeded: verifier.nextSeq)
                        let encoding = schedule.phase.payload
                        let seed = profile.seed
                        sendBuffer.withUnsafeMutableBytes {
                            FrameCodec.encode(seq: seq, length: length, payload: encoding, seed: seed, into: $0)
                        }
                        pendingLength = length
                        pendingOffset = 0
                    }
                    let io = sendBuffer.withUnsafeBytes { link.write(UnsafeRawBufferPointer(rebasing: $0[pendingOffset..<pendingLength])) }
                    switch io {
                    case .done(let n, let at):
                        pendingOffset += n
                        if pendingOffset == pendingLength {
                            verifier.registerSent(length: pendingLength, at: at)
                            health.sent(at: at)
                            schedule.didSend(now: at)
                            if let due = pendingDue {
                                _ = scheduleLag.record(Swift.max(1, Swift.min((at &- Swift.min(due, at)) / 1000, EchoVerifier.highestLatencyMicros)))
                            }
                            pendingLength = 0
                            now = at
                        }
                        continue
                    case .wouldBlock:
                        break
                    case .hangup(let why):
                        reason = .linkFailed
                        detail = lostLink(why, now: now)
                        break loop
                    case .failed(let why):
                        reason = .infrastructure
                        detail = "\(link.path): \(why)"
                        break loop
                    }
                    break
                }
            }

            // Sleep until something is due: an echo, a send, a loss, a hang, a snapshot.
            var deadline = nextInterval
            if let d = health.deadline { deadline = min(deadline, d) }
            if let d = verifier.nextExpiry { deadline = min(deadline, d) }
            if let until = drainUntil {
                deadline = min(deadline, until)
            } else if let s = settle {
                deadline = min(deadline, s.until)
            } else {
                deadline = min(deadline, schedule.phaseEnd)
                if pendingLength == 0 && verifier.outstanding < schedule.phase.window {
                    deadline = min(deadline, schedule.nextDue)
                }
            }
            let timeout = deadline > now ? min(deadline - now, Self.maxWait) : 0
            let ready = link.wait(forWrite: pendingLength > 0, timeout: timeout)
            if ready.readable || ready.hangup {
                if let why = readAvailable() {
                    reason = .linkFailed
                    detail = lostLink(why, now: clock.now())
                    break
                }
            }
            processLines(now: clock.now())
            if let r = recoverFinding {
                let now = clock.now()
                let failure = describeFailure(.finding, now: now, reason: "\(r.finding.source?.rawValue ?? "") \(r.finding.findingClass): \(r.finding.line ?? r.finding.explanation)")
                emitFailure(failure, at: now)
                health.reset()
                reason = .linkFailed
                detail = failure.evidence?.diagnosis ?? failure.reason
                break
            }
        }
            // The link failed: recover it and soak on, if the profile says how and the limits allow.
            guard reason == .linkFailed, drainUntil == nil, let policy = profile.recovery, control != nil else { break soak }
            switch recover(policy) {
            case .recovered:
                schedule.resume(now: clock.now())
                recoverFinding = nil
                pendingLength = 0
                settle = nil
                recoverFinding = nil
                health.reset()
                reason = .completed
                detail = nil
                continue soak
            case .gaveUp(let why):
                reason = .infrastructure
                detail = why
                break soak
            case .stopped:
                reason = .interrupted
                detail = "stopped by a signal during recovery"
                break soak
            }
        }

        let endAt = clock.now()
        emitInterval(at: endAt, phase: currentPhaseName(schedule))
        let seconds = Double(endAt &- runStartMono) / 1e9
        let end = RunEnd(reason: reason, detail: detail, totals: verifier.counters, seconds: seconds)
        var e = event(.runEnd, at: endAt, message: detail)
        e.end = end
        sink.emit(e)
        return Outcome(end: end, hangs: hangs, linkLosses: linkLosses)
    }

    enum RecoveryOutcome { case recovered, gaveUp(String), stopped }

    /// Climbs the ladder until a step brings the link back (checked by a probe echo), as often
    /// as the limits allow. Every attempt goes onto the timeline.
    private func recover(_ policy: RecoveryPolicy) -> RecoveryOutcome {
        guard let control else { return .gaveUp("no way to recover this board") }
        while true {
            if recoveries >= policy.maxRecoveries {
                return .gaveUp("\(recoveries) recoveries: the limit (max_recoveries) is reached")
            }
            for step in policy.ladder {
                if shouldStop() { return .stopped }
                let started = clock.now()
                if let reason = control.unavailable(step) {
                    emitRecovery(.skipped(step, because: reason), at: started)
                    continue
                }
                processLines(now: started)
                readySeenAt = nil
                let result = control.perform(step, policy: policy, closing: link)
                if step != .reopen { expectedRebootUntil = clock.now() &+ policy.bootTimeout.nanoseconds }
                var ok = false
                var detail: String
                switch result {
                case .success(let newLink):
                    link = newLink
                    if step != .reopen, let why = waitForReady() {
                        detail = why
                        break
                    }
                    ok = probe(timeout: policy.probeTimeout)
                    detail = ok ? "probe echoed" : "the link opened but a probe was not echoed within \(policy.probeTimeout)"
                case .failure(let f):
                    detail = f.reason
                }
                processLines(now: clock.now())
                emitRecovery(RecoveryRecord(step: step, outcome: ok ? .succeeded : .failed, seconds: Double(clock.now() &- started) / 1e9, detail: detail),
                             at: clock.now())
                if ok {
                    recoveries += 1
                    consecutiveFailedRecoveries = 0
                    cycleStartAt = clock.now()
                    // The banner of a board we power-cycled is expected until it has been read.
                    if step != .reopen { expectedRebootUntil = cycleStartAt &+ 3_000_000_000 }
                    return .recovered
                }
            }
            consecutiveFailedRecoveries += 1
            if consecutiveFailedRecoveries >= policy.maxConsecutiveFailures {
                return .gaveUp("\(consecutiveFailedRecoveries) recovery ladders in a row did not bring the link back")
            }
        }
    }

    /// After a power cycle or M7 restart: waits for the board file's UART ready line. Returns
    /// why the board is not ready, or nil (ready, or no ready line configured).
    private func waitForReady() -> String? {
        guard let watch, let ready = watch.ready else { return nil }
        let deadline = clock.now() &+ watch.readyTimeout.nanoseconds
        while readySeenAt == nil {
            processLines(now: clock.now())
            if readySeenAt != nil { break }
            if clock.now() >= deadline { return "the UART did not print a line matching /\(ready.pattern)/ within \(watch.readyTimeout) (uart.ready)" }
            if shouldStop() { return "interrupted" }
            watch.inbox.wait(seconds: 0.05)
        }
        return nil
    }

    /// Sends one message and waits for its echo.
    private func probe(timeout: SoakDuration) -> Bool {
        let length = 64
        let seq = UInt32(truncatingIfNeeded: verifier.nextSeq)
        let seed = profile.seed
        sendBuffer.withUnsafeMutableBytes { FrameCodec.encode(seq: seq, length: length, payload: .printable, seed: seed, into: $0) }
        let deadline = clock.now() &+ timeout.nanoseconds
        var offset = 0
        while offset < length {
            guard clock.now() < deadline else { return false }
            switch sendBuffer.withUnsafeBytes({ link.write(UnsafeRawBufferPointer(rebasing: $0[offset..<length])) }) {
            case .done(let n, let at):
                offset += n
                if offset == length {
                    verifier.registerSent(length: length, at: at)
                    health.sent(at: at)
                }
            case .wouldBlock: _ = link.wait(forWrite: true, timeout: 10_000_000)
            case .hangup, .failed: return false
            }
        }
        let before = verifier.counters.echoed
        while clock.now() < deadline {
            let ready = link.wait(forWrite: false, timeout: min(deadline &- clock.now(), Self.maxWait))
            if ready.readable || ready.hangup {
                if readAvailable() != nil { break }
            }
            if verifier.counters.echoed > before { return true }
        }
        _ = verifier.abandonOutstanding()
        health.reset()
        return false
    }

    private func emitRecovery(_ r: RecoveryRecord, at: UInt64) {
        let outcome = switch r.outcome { case .succeeded: "link back"; case .skipped: "skipped"; case .failed: "did not help" }
        var e = event(.recovery, at: at, message: "\(r.step.rawValue): \(outcome) (\(r.detail))")
        e.recovery = r
        sink.emit(e)
    }

    /// Takes what the UART and kernel-log readers queued: keeps it for evidence and the logs,
    /// applies the rules, and turns matches into findings on the timeline.
    private func processLines(now: UInt64) {
        guard let watch else { return }
        if !watch.inbox.isEmpty {
            for item in watch.inbox.drain() {
                switch item {
                case .line(let line):
                    watch.record(line)
                    recentLines.append(line)
                    if line.source == .uart, let ready = watch.ready,
                       ready.firstMatch(in: line.text, range: NSRange(location: 0, length: (line.text as NSString).length)) != nil {
                        readySeenAt = line.at
                    }
                    if let h = heartbeat, line.source == .uart,
                       h.regex.firstMatch(in: line.text, range: NSRange(location: 0, length: (line.text as NSString).length)) != nil {
                        heartbeat?.lastSeen = line.at
                        heartbeat?.reported = false
                    }
                    // "Mid-run" by the line's own time: boot lines read late are still boot lines.
                    let midRun = firstEchoAt.map { line.at > $0 } ?? false
                    for f in rules.match(line, linkEverEchoed: midRun) { addFinding(f, at: line.at) }
                case .notice(let source, let notice, let at):
                    var e = event(.source, at: at)
                    switch notice {
                    case .opened(let what):
                        e.message = "\(source.rawValue): opened \(what)"
                        openedSources.insert(source)
                    case .lost(let why):
                        e.message = "\(source.rawValue): \(why)"
                        if openedSources.contains(source) { addFinding(Finding(rule: "\(source.rawValue)-lost", findingClass: "\(source.rawValue)-lost", severity: .warning,
                                           action: .record, source: source, explanation: "the \(source == .uart ? "M7 debug UART" : "kernel log") went away: \(why); it is reopened when it is back",
                                           line: nil, details: nil), at: at) }
                    case .overrun(let missed):
                        e.message = "kernel log overrun: \(missed) record(s) were overwritten before they were read"
                        addFinding(Finding(rule: "kernel-log-overrun", findingClass: "kernel-log-overrun", severity: .warning, action: .record,
                                           source: .kernel, explanation: e.message ?? "", line: nil, details: nil), at: at)
                    case .permissionDenied(let why): e.message = "\(source.rawValue): \(why)"; e.type = .warning
                    }
                    watch.recordNotice(source, "-- " + (e.message ?? ""), at)
                    sink.emit(e)
                }
            }
            if recentLines.count > 4000 { recentLines.removeFirst(recentLines.count - 2000) }
        }
        if let h = heartbeat, !h.reported, now > h.lastSeen, now - h.lastSeen >= h.within, let pattern = profile.heartbeat?.pattern {
            heartbeat?.reported = true
            addFinding(Finding(rule: "heartbeat", findingClass: "uart-heartbeat-missing", severity: .warning, action: .record, source: .uart,
                               explanation: "no UART line matching /\(pattern)/ for \(profile.heartbeat?.within ?? .seconds(0))",
                               line: nil, details: nil), at: now)
        }
    }

    private func addFinding(_ f: Finding, at: UInt64) {
        if at <= expectedRebootUntil && ["firmware-rebooted", "uart-lost", "tty-installed", "tty-removed"].contains(f.findingClass) {
            return  // our own power cycle
        }
        if at <= bootBannerUntil && f.findingClass == "firmware-rebooted" { return }
        findings.append((at, f))
        if findings.count > 2000 { findings.removeFirst(1000) }
        var e = event(.finding, at: at, message: "\(f.severity.rawValue) \(f.findingClass): \(f.explanation)")
        e.finding = f
        sink.emit(e)
        if f.action == .recover && recoverFinding == nil { recoverFinding = (at, f) }
    }

    /// Reads until the link would block. Returns the reason when the link hung up.
    private func readAvailable() -> String? {
        while true {
            let progressBefore = verifier.counters.echoed &+ verifier.counters.corrupted
            let io = verifier.withReadSpace { link.read(into: $0) }
            switch io {
            case .done(let n, let at):
                verifier.commit(count: n, at: at)
                let progressAfter = verifier.counters.echoed &+ verifier.counters.corrupted
                if progressAfter != progressBefore {
                    if firstEchoAt == nil { firstEchoAt = at }
                    health.echoed(at: at, stillOutstanding: verifier.outstanding)
                }
                if verifier.hasAnomalies { flushAnomalies() }
            case .wouldBlock:
                return nil
            case .hangup(let why), .failed(let why):
                return why
            }
        }
    }

    private func lostLink(_ why: String, now: UInt64) -> String {
        linkLosses += 1
        verifier.expire(now: now)
        flushAnomalies()
        let failure = describeFailure(.linkLost, now: now, reason: "\(link.path): \(why)")
        emitFailure(failure, at: now)
        health.reset()
        return failure.evidence?.diagnosis ?? failure.reason
    }

    /// Builds the failure record and settles the verifier: what was in flight is unanswered.
    private func describeFailure(_ kind: LinkFailure.Kind, now: UInt64, reason: String) -> LinkFailure {
        if kind != .hang, let watch {
            let until = now &+ Self.evidenceSettle
            var turns = 0
            while clock.now() < until && turns < 200 {
                let left = Double(until &- clock.now()) / 1e9
                watch.inbox.wait(seconds: max(0.001, min(left, 0.05)))
                processLines(now: clock.now())
                turns += 1
            }
        }
        processLines(now: now)
        let frames = verifier.recentFrames(count: 16, now: now)
        let window = recentLines.filter { $0.at &+ Self.evidenceWindow >= now && $0.at >= cycleStartAt }
        let head: String
        switch kind {
        case .hang: head = "hang: \(reason)"
        case .linkLost: head = "link lost: \(reason)"
        case .finding: head = reason
        }
        let diagnosis = Diagnosis.explain(failure: head, at: now, lastEchoAt: health.lastEchoAt, lines: window,
                                          findings: findings.filter { $0.at >= cycleStartAt },
                                          uartWatched: watch?.uartWatched ?? false, kernelWatched: watch?.kernelWatched ?? false)
        let evidence = Evidence(frames: frames, lines: window.suffix(200).map {
            Evidence.Line(source: $0.source, offset: Double(Int64(bitPattern: $0.at &- now)) / 1e9, text: $0.text)
        }, diagnosis: diagnosis)
        let inFlight = verifier.outstanding
        let lastSent = verifier.nextSeq > 0 ? verifier.nextSeq - 1 : nil
        let reclassified = verifier.abandonOutstanding()
        return LinkFailure(kind: kind, reason: reason, outstanding: inFlight, lostBeforeFailure: reclassified,
                    lastSeqSent: lastSent,
                    sinceLastEcho: health.lastEchoAt.map { Double(now &- $0) / 1e9 },
                    messagesSinceStart: verifier.counters.sent, evidence: evidence)
    }

    private func emitFailure(_ f: LinkFailure, at: UInt64) {
        var e = event(f.kind == .linkLost ? .linkLost : .hang, at: at, message: f.reason)
        e.failure = f
        sink.emit(e)
    }

    private func currentPhaseName(_ s: TrafficSchedule) -> String {
        profile.phases[min(s.phaseIndex, profile.phases.count - 1)].name
    }

    private func emitPhase(_ index: Int, at: UInt64) {
        var e = event(.phaseStart, at: at, message: "phase \(profile.phases[index].name)")
        e.phase = PhaseMark(index: index, name: profile.phases[index].name)
        sink.emit(e)
    }

    private func emitInterval(at: UInt64, phase: String) {
        var snap = IntervalSnapshot(phase: phase, seconds: Double(at &- lastIntervalAt) / 1e9,
                                    totals: verifier.counters, outstanding: verifier.outstanding, latencyMicros: [],
                                    scheduleLagMicros: scheduleLag.sparseBuckets,
                                    anomaliesNotListed: anomaliesNotListed)
        anomaliesNotListed = 0
        anomalyEvents = 0
        snap.latencyMicros = verifier.latency.sparseBuckets
        totalLatency.add(verifier.latency)
        verifier.resetIntervalLatency()
        scheduleLag.reset()
        lastIntervalAt = at
        var e = event(.interval, at: at)
        e.interval = snap
        sink.emit(e)
    }

    private func flushAnomalies() {
        verifier.drainAnomalies { a in
            guard anomalyEvents < Self.anomalyEventsPerInterval else {
                anomaliesNotListed += 1
                return
            }
            anomalyEvents += 1
            var e = event(.anomaly, at: a.at, message: "\(a.kind.rawValue) seq \(a.seq)")
            e.anomaly = AnomalyRecord(kind: a.kind, seq: a.seq, latencyMicros: a.latencyMicros > 0 ? a.latencyMicros : nil)
            sink.emit(e)
        }
        anomaliesNotListed += verifier.anomaliesDropped
        verifier.resetAnomaliesDropped()
    }
}
