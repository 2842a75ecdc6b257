import Histogram

/// The traffic side of a run: which phase is on, what is due to be sent, the message being
/// written, the settling between phases, the drain at the end, and the interval snapshots and
/// anomaly events on the timeline. The runner calls it from its one loop; nothing here waits.
struct TrafficLoop {
    enum Turn: Equatable { case going, finished }
    enum SendResult { case ok, hangup(String), failed(String) }

    /// The longest the loop sleeps, so a stop request is seen promptly.
    static let maxWait: UInt64 = 100_000_000
    /// Anomalies go onto the timeline one by one up to this many per interval; the rest are
    /// only counted, so a link that corrupts everything cannot flood the log.
    static let anomalyEventsPerInterval = 200
    /// A write that took this long was held in the driver (a kick timeout costs 100 ms per
    /// message; no free TX buffer up to 15 s): evidence worth keeping.
    static let blockedWrite: UInt64 = 50_000_000

    let profile: Profile
    var schedule: TrafficSchedule
    /// Every round trip of the run so far (the verifier holds only the current interval).
    private(set) var totalLatency = LatencyCounts()
    private var sendBuffer = [UInt8](repeating: 0, count: FrameCodec.maxFrameSize)
    private var pendingLength = 0
    private var pendingOffset = 0
    /// When the message being written was due, if it had a due time (a fixed rate or a burst).
    private var pendingDue: UInt64?
    /// How late each scheduled send left, this interval, in microseconds.
    private var scheduleLag = IntervalHistogram()
    private var nextInterval: UInt64 = 0
    private var lastIntervalAt: UInt64 = 0
    private var anomalyEvents = 0
    private var anomaliesNotListed: UInt64 = 0
    /// The schedule is done: waiting for the last echoes until this time.
    private var drainUntil: UInt64?
    /// Between phases: nothing is sent until the previous phase's echoes are in (or their
    /// loss timeout passed), so each phase's counts are its own.
    private var settle: (until: UInt64, previous: Int)?
    /// The longest a write was held in the driver since the last failure.
    private var longestWrite: UInt64 = 0
    /// The network's round trip, for a board reached over ssh.
    var network: NetworkProbe?

    init(profile: Profile) {
        self.profile = profile
        schedule = TrafficSchedule(phases: profile.phases, start: 0, seed: profile.seed)
    }

    var draining: Bool { drainUntil != nil }
    var writePending: Bool { pendingLength > 0 }

    /// - resuming: a resumed run's phase and how much of it was soaked (ns): its start is on
    ///   the timeline already.
    mutating func begin(at start: UInt64, recorder: TimelineRecorder, resuming: (phase: Int, soaked: UInt64)? = nil) {
        nextInterval = start &+ profile.reportInterval.nanoseconds
        lastIntervalAt = start
        if let r = resuming {
            schedule = TrafficSchedule(phases: profile.phases, resuming: r.phase, soaked: r.soaked, at: start, seed: profile.seed)
            return
        }
        schedule = TrafficSchedule(phases: profile.phases, start: start, seed: profile.seed)
        emitPhase(0, at: start, recorder: recorder)
    }

    /// After a recovery: the timetable resumes from now, the half-written message is dropped.
    mutating func resume(now: UInt64) {
        schedule.resume(now: now)
        pendingLength = 0
        settle = nil
    }

    /// Phase changes, settling, the final drain, losses that came due.
    mutating func turn(now: UInt64, verifier: inout EchoVerifier, recorder: TimelineRecorder) -> Turn {
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
            flushAnomalies(&verifier, recorder: recorder)
            emitInterval(at: now, phase: profile.phases[s.previous].name, verifier: &verifier, recorder: recorder)
            if !schedule.isFinished { emitPhase(schedule.phaseIndex, at: now, recorder: recorder) }
            settle = nil
            // The next snapshot is a whole interval into the new phase, not a sliver after its start.
            nextInterval = now &+ profile.reportInterval.nanoseconds
        }
        if let until = drainUntil, verifier.outstanding == 0 || now >= until {
            verifier.endOfStream(at: now)
            verifier.expire(now: .max)
            flushAnomalies(&verifier, recorder: recorder)
            return .finished
        }
        verifier.expire(now: now)
        if verifier.hasAnomalies { flushAnomalies(&verifier, recorder: recorder) }
        return .going
    }

    mutating func snapshotIfDue(now: UInt64, verifier: inout EchoVerifier, recorder: TimelineRecorder) {
        guard now >= nextInterval else { return }
        emitInterval(at: now, verifier: &verifier, recorder: recorder)
        nextInterval &+= profile.reportInterval.nanoseconds
        if nextInterval <= now { nextInterval = now &+ profile.reportInterval.nanoseconds }
    }

    /// Sends everything that is due and fits in the window, until the link would block.
    mutating func send(now start: UInt64, clock: SoakClock, link: Link, verifier: inout EchoVerifier, health: inout LinkHealth) -> SendResult {
        guard drainUntil == nil else { return .ok }
        var now = start
        let window = schedule.phase.window
        while true {
            if pendingLength == 0 {
                guard settle == nil, verifier.outstanding < window, now >= schedule.nextDue, now < schedule.phaseEnd else { return .ok }
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
            let (offset, length) = (pendingOffset, pendingLength)
            // How long the write itself took: on the board the driver sleeps inside it.
            let before = clock.now()
            // The hang detector must run while a write sleeps in the driver: it returns by the
            // hang deadline at the latest.
            let by = Swift.max(health.deadline ?? before &+ profile.link.hangTimeout.nanoseconds, before &+ 1_000_000)
            let io = sendBuffer.withUnsafeBytes { link.write(UnsafeRawBufferPointer(rebasing: $0[offset..<length]), returningBy: by) }
            switch io {
            case .done(let n, let at):
                noteWrite(took: at &- Swift.min(before, at))
                pendingOffset += n
                if pendingOffset == pendingLength {
                    verifier.registerSent(length: pendingLength, at: at)
                    health.sent(at: at)
                    schedule.didSend(now: at)
                    if let due = pendingDue {
                        scheduleLag.record(Swift.max(1, Swift.min((at &- Swift.min(due, at)) / 1000, EchoVerifier.highestLatencyMicros)))
                    }
                    pendingLength = 0
                }
                now = at
            case .wouldBlock:
                noteWrite(took: clock.now() &- before)
                return .ok
            case .hangup(let why): return .hangup(why)
            case .failed(let why): return .failed(why)
            }
        }
    }

    /// One 64-byte probe after a recovery step, written until `deadline`. False when it could
    /// not be sent.
    mutating func sendProbe(link: Link, deadline: UInt64, clock: SoakClock, verifier: inout EchoVerifier, health: inout LinkHealth) -> Bool {
        let length = 64
        let seq = UInt32(truncatingIfNeeded: verifier.nextSeq)
        let seed = profile.seed
        sendBuffer.withUnsafeMutableBytes { FrameCodec.encode(seq: seq, length: length, payload: .printable, seed: seed, into: $0) }
        pendingLength = 0
        var offset = 0
        while offset < length {
            guard clock.now() < deadline else { return false }
            let from = offset
            switch sendBuffer.withUnsafeBytes({ link.write(UnsafeRawBufferPointer(rebasing: $0[from..<length])) }) {
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
        return true
    }

    private mutating func noteWrite(took ns: UInt64) {
        if ns >= Self.blockedWrite && ns > longestWrite { longestWrite = ns }
    }

    /// The longest write held in the driver since the last call, if one was.
    mutating func takeLongestWrite() -> UInt64? {
        defer { longestWrite = 0 }
        return longestWrite > 0 ? longestWrite : nil
    }

    /// When the loop must look again: an echo's loss, a hang, a send, a snapshot, a phase end.
    func nextDeadline(verifier: EchoVerifier, health: LinkHealth) -> UInt64 {
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
        return deadline
    }

    /// The phase the traffic belongs to: while the next one settles (its start not on the
    /// timeline yet), still the one that ended.
    var currentPhaseName: String {
        if let s = settle { return profile.phases[s.previous].name }
        return profile.phases[min(schedule.phaseIndex, profile.phases.count - 1)].name
    }

    private func emitPhase(_ index: Int, at: UInt64, recorder: TimelineRecorder) {
        var e = recorder.event(.phaseStart, at: at, message: "phase \(profile.phases[index].name)")
        e.phase = PhaseMark(index: index, name: profile.phases[index].name)
        recorder.emit(e)
    }

    mutating func emitInterval(at: UInt64, phase: String? = nil, verifier: inout EchoVerifier, recorder: TimelineRecorder) {
        var snap = IntervalSnapshot(phase: phase ?? currentPhaseName, seconds: Double(at &- lastIntervalAt) / 1e9,
                                    totals: verifier.counters, outstanding: verifier.outstanding, latencyMicros: [],
                                    scheduleLagMicros: scheduleLag.sparseBuckets,
                                    anomaliesNotListed: anomaliesNotListed)
        anomaliesNotListed = 0
        anomalyEvents = 0
        snap.latencyMicros = verifier.latency.sparseBuckets
        snap.networkRoundTripMicros = network?.takeRoundTrips()
        totalLatency.add(sparse: snap.latencyMicros)
        verifier.resetIntervalLatency()
        scheduleLag.reset()
        lastIntervalAt = at
        var e = recorder.event(.interval, at: at)
        e.interval = snap
        recorder.emit(e)
    }

    mutating func flushAnomalies(_ verifier: inout EchoVerifier, recorder: TimelineRecorder) {
        var listed = anomalyEvents
        var notListed: UInt64 = 0
        verifier.drainAnomalies { a in
            guard listed < Self.anomalyEventsPerInterval else {
                notListed += 1
                return
            }
            listed += 1
            let message: String
            if let r = a.stray {
                var before = r.seqBefore.map { "after seq \($0)" } ?? "before any frame"
                var after = r.seqAfter.map { ", before seq \($0)" } ?? ""
                if r.seqBefore != nil && r.seqBefore == r.seqAfter { (before, after) = ("inside seq \(r.seqAfter!)", "") }
                message = "stray: \(r.length) byte\(r.length == 1 ? "" : "s") \(r.kind.rawValue), \(before)\(after): \(r.hex)\(r.length > r.headCount ? " ..." : "")"
            } else {
                message = "\(a.kind.rawValue) seq \(a.seq)"
            }
            var e = recorder.event(.anomaly, at: a.at, message: message)
            e.anomaly = AnomalyRecord(a)
            recorder.emit(e)
        }
        anomalyEvents = listed
        anomaliesNotListed += notListed + verifier.anomaliesDropped
        verifier.resetAnomaliesDropped()
    }
}
