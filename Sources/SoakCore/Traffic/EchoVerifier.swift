import Histogram

/// Reassembles echoed frames from the byte stream and checks every one against what was sent:
/// latency, loss, duplicates, order, corruption. The hot path does not allocate: the receive
/// buffer, the ring of sent messages and the anomaly list are sized once.
///
/// Every byte that is not part of a verified frame is a stray byte, and every run of them is
/// attributed (`StrayKind`): a truncated frame, an extended frame, a repeated run, an inserted
/// run. A frame with a few bytes inserted into it (a stutter inside a chunk) is found again
/// when the next frame's magic follows it: the frame counts as echoed, the inserted bytes as
/// stray. The first `strayEvidenceLimit` runs are listed as `.stray` anomalies with their
/// bytes; the rest are counted. The buffer keeps the last `historySize` bytes before the
/// parse point, for the repeated-run check.
public struct EchoVerifier {
    public static let ringSize = 1 << 13
    static let ringMask = UInt64(ringSize - 1)
    static let bufferSize = 1 << 16
    static let anomalyCapacity = 1024
    /// Bytes of the stream kept before the parse point: a repeated run is looked for in them.
    static let historySize = 1024
    /// Stray runs listed one by one (with their bytes) per verifier; later ones are counted.
    public static let strayEvidenceLimit = 10
    /// The most bytes looked for inside a damaged frame, as an insertion into it.
    static let maxInsertion = 32

    enum State: UInt8 { case empty, outstanding, echoed, lost, corrupted, unanswered }

    var ringSeq: [UInt64]
    var ringSentAt: [UInt64]
    var ringLength: [UInt16]
    var ringState: [State]

    /// The next sequence number to be sent; every lower one has been sent.
    public private(set) var nextSeq: UInt64 = 0
    /// The lowest sequence number that may still be outstanding.
    var lowSeq: UInt64 = 0
    var highestEchoed: UInt64?
    public internal(set) var outstanding = 0

    /// Damaged frames seen whose sequence number could not be read; the next loss is one of them.
    var unattributedDamage = 0
    /// Corruptions counted against a sequence number that later arrived intact: the damaged frame
    /// was some other message, which will show up as a loss and must not be counted twice.
    var misattributedDamage = 0
    /// Bytes of the current run of bytes that belong to no frame. A run as long as a frame is
    /// a frame damaged beyond recognition: the next loss is counted corrupted.
    var strayRun = 0
    /// Where the current stray run began in the buffer, and whether right after a verified frame.
    var runStart = 0
    var runAfterFrame = false
    /// The run grew longer than the buffer keeps: its first bytes are gone.
    var runHistoryLost = false
    /// The run in progress was already taken as the damaged frame of a loss.
    var runCountedAsDamage = false
    /// Buffer index right after the last verified frame; -1 when not in the buffer.
    var lastFrameEnd = -1
    var lastVerifiedSeq: UInt64?
    var strayRunsListed = 0
    /// A damaged frame waits for a few more bytes to tell an insertion into it from damage.
    var stalledAt: UInt64?
    var lastAt: UInt64 = 0
    /// Rebuilds a frame without bytes inserted into it (damage only).
    var scratch: [UInt8]

    var buffer: [UInt8]
    var start = 0
    var end = 0

    public let lossTimeout: UInt64
    public internal(set) var counters = Counters()
    /// The current interval's round trips (`TrafficLoop` takes them at each snapshot).
    public internal(set) var latency: IntervalHistogram
    private var anomalies: [Anomaly]
    public private(set) var anomaliesDropped: UInt64 = 0

    public static let highestLatencyMicros: UInt64 = 3_600_000_000

    public init(lossTimeout: SoakDuration) {
        self.lossTimeout = lossTimeout.nanoseconds
        ringSeq = [UInt64](repeating: .max, count: Self.ringSize)
        ringSentAt = [UInt64](repeating: 0, count: Self.ringSize)
        ringLength = [UInt16](repeating: 0, count: Self.ringSize)
        ringState = [State](repeating: .empty, count: Self.ringSize)
        buffer = [UInt8](repeating: 0, count: Self.bufferSize)
        scratch = [UInt8](repeating: 0, count: FrameCodec.maxFrameSize)
        latency = IntervalHistogram()
        anomalies = []
        anomalies.reserveCapacity(Self.anomalyCapacity)
    }

    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestLatencyMicros, numberOfSignificantValueDigits: .three)
    }

    // Beside this file: stray runs in EchoVerifier+Strays.swift, parsing and verifying frames in
    // EchoVerifier+Parsing.swift, the loss timeout and a failed link in EchoVerifier+Expiry.swift.

    // MARK: sending

    /// Records that the frame `nextSeq` of `length` bytes left at `at`, and returns its sequence number.
    @discardableResult
    public mutating func registerSent(length: Int, at: UInt64) -> UInt64 {
        let seq = nextSeq
        let slot = Int(seq & Self.ringMask)
        if ringState[slot] == .outstanding {
            // Overtaken by a whole ring of newer messages: it is not coming back.
            declareLost(slot: slot, at: at)
        }
        ringSeq[slot] = seq
        ringSentAt[slot] = at
        ringLength[slot] = UInt16(length)
        ringState[slot] = .outstanding
        nextSeq += 1
        outstanding += 1
        counters.sent += 1
        counters.bytesSent += UInt64(length)
        return seq
    }

    // MARK: receiving

    /// Space to read into, directly; then `commit` what was read. Compacts first if needed.
    public mutating func withReadSpace<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        if end > Self.bufferSize - FrameCodec.maxFrameSize * 4 { compact() }
        return buffer.withUnsafeMutableBytes { raw in
            body(UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
    }

    /// Bytes just read into the read space, received at `at`: reassemble and verify.
    public mutating func commit(count: Int, at: UInt64) {
        end += count
        lastAt = at
        counters.bytesEchoed += UInt64(count)
        parse(at: at)
        if end - start > Self.bufferSize - FrameCodec.maxFrameSize * 2 - Self.historySize {
            // Cannot happen with well-formed traffic (a frame is at most 496 bytes): a stalled
            // partial frame behind a flood of bytes. Drop the oldest byte and go on.
            strayByte()
            parse(at: at)
        }
    }

    /// Convenience for tests and simulators: copies `bytes` in and commits them.
    public mutating func ingest(_ bytes: UnsafeRawBufferPointer, at: UInt64) {
        var offset = 0
        while offset < bytes.count {
            let n = withReadSpace { space -> Int in
                let n = Swift.min(space.count, bytes.count - offset)
                space.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                return n
            }
            commit(count: n, at: at)
            offset += n
        }
    }

    public mutating func ingest(_ bytes: [UInt8], at: UInt64) {
        bytes.withUnsafeBytes { ingest($0, at: at) }
    }

    private mutating func compact() {
        // Keep the history before the parse point (or before the stray run in progress), unless
        // a very long run would leave too little room: then its first bytes go.
        let want = strayRun > 0 ? runStart : start
        var keepFrom = want - Swift.min(want, Self.historySize)
        if end - keepFrom > Self.bufferSize / 2 {
            keepFrom = start - Swift.min(start, Self.historySize)
            if strayRun > 0 && runStart < keepFrom { runHistoryLost = true }
        }
        guard keepFrom > 0 else { return }
        let n = end - keepFrom
        buffer.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            base.copyMemory(from: base + keepFrom, byteCount: n)
        }
        start -= keepFrom
        end = n
        runStart = Swift.max(0, runStart - keepFrom)
        lastFrameEnd = lastFrameEnd >= keepFrom ? lastFrameEnd - keepFrom : -1
    }

    // MARK: anomalies

    mutating func note(_ kind: Anomaly.Kind, seq: UInt64, at: UInt64, latency: UInt64 = 0, stray: StrayRun? = nil) {
        if anomalies.count < Self.anomalyCapacity {
            anomalies.append(Anomaly(kind: kind, seq: seq, at: at, latencyMicros: latency, stray: stray))
        } else {
            anomaliesDropped += 1
        }
    }

    public var hasAnomalies: Bool { !anomalies.isEmpty }

    /// Hands every anomaly noticed since the last call to `body`, then forgets them.
    public mutating func drainAnomalies(_ body: (Anomaly) -> Void) {
        for a in anomalies { body(a) }
        anomalies.removeAll(keepingCapacity: true)
    }
}

extension EchoVerifier {
    /// A resumed run (`run --resume`): counting goes on from `counters`, and sequence numbers
    /// from the messages already sent, before anything is sent.
    public mutating func continueCounting(from previous: Counters) {
        precondition(nextSeq == 0, "continueCounting before the first send")
        counters = previous
        nextSeq = previous.sent
        lowSeq = previous.sent
        highestEchoed = previous.sent > 0 ? previous.sent - 1 : nil
    }

    /// The run stops with messages in flight (a signal; the link failed): they are unanswered,
    /// not lost, and counted, so every message sent is accounted for.
    public mutating func settleInterrupted() {
        var s = lowSeq
        while s < nextSeq {
            let slot = Int(s & Self.ringMask)
            if ringSeq[slot] == s && ringState[slot] == .outstanding {
                ringState[slot] = .unanswered
                counters.unanswered += 1
            }
            s += 1
        }
        outstanding = 0
        lowSeq = nextSeq
    }

    /// The latency histogram holds one interval: the runner folds it into the run's total.
    public mutating func resetIntervalLatency() { latency.reset() }
    public mutating func resetAnomaliesDropped() { anomaliesDropped = 0 }
}

extension EchoVerifier {
    /// The last `count` messages sent, for the evidence of a failure (allocates: failures only).
    public func recentFrames(count: Int, now: UInt64) -> [Evidence.Frame] {
        var out: [Evidence.Frame] = []
        let first = nextSeq > UInt64(count) ? nextSeq - UInt64(count) : 0
        for seq in first..<nextSeq {
            let slot = Int(seq & Self.ringMask)
            guard ringSeq[slot] == seq else { continue }
            let state: String
            switch ringState[slot] {
            case .outstanding: state = "outstanding"
            case .echoed: state = "echoed"
            case .lost: state = "lost"
            case .corrupted: state = "corrupted"
            case .unanswered: state = "unanswered"
            case .empty: continue
            }
            out.append(Evidence.Frame(seq: seq, length: Int(ringLength[slot]),
                                      sentAgo: Double(Int64(bitPattern: now &- ringSentAt[slot])) / 1e9, state: state,
                                      latencyMicros: nil))
        }
        return out
    }
}
