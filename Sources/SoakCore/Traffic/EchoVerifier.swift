import Histogram

/// One thing the verifier noticed about one message, for the timeline.
public struct Anomaly: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case lost, corrupted, duplicated, outOfOrder = "out_of_order"
        /// Echoed after it had been counted lost: now counted out of order instead.
        case late
        /// A well-formed frame this run never sent.
        case unexpected
    }
    public var kind: Kind
    public var seq: UInt64
    public var at: UInt64
    /// Latency in microseconds where one was measured, else 0.
    public var latencyMicros: UInt64
}

/// Reassembles echoed frames from the byte stream and checks every one against what was sent:
/// latency, loss, duplicates, order, corruption. The hot path does not allocate: the receive
/// buffer, the ring of sent messages and the anomaly list are sized once.
public struct EchoVerifier {
    public static let ringSize = 1 << 13
    static let ringMask = UInt64(ringSize - 1)
    static let bufferSize = 1 << 16
    static let anomalyCapacity = 1024

    enum State: UInt8 { case empty, outstanding, echoed, lost, corrupted, unanswered }

    private var ringSeq: [UInt64]
    private var ringSentAt: [UInt64]
    private var ringLength: [UInt16]
    private var ringState: [State]

    /// The next sequence number to be sent; every lower one has been sent.
    public private(set) var nextSeq: UInt64 = 0
    /// The lowest sequence number that may still be outstanding.
    private var lowSeq: UInt64 = 0
    private var highestEchoed: UInt64?
    public private(set) var outstanding = 0

    /// Damaged frames seen whose sequence number could not be read; the next loss is one of them.
    private var unattributedDamage = 0
    /// Corruptions counted against a sequence number that later arrived intact: the damaged frame
    /// was some other message, which will show up as a loss and must not be counted twice.
    private var misattributedDamage = 0
    /// Bytes of the current run of bytes that belong to no frame. A run as long as a frame is
    /// a frame damaged beyond recognition; a shorter one (a stray CR LF) is noise.
    private var strayRun = 0

    private var buffer: [UInt8]
    private var start = 0
    private var end = 0

    public let lossTimeout: UInt64
    public private(set) var counters = Counters()
    public private(set) var latency: Histogram<UInt64>
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
        latency = Self.makeHistogram()
        anomalies = []
        anomalies.reserveCapacity(Self.anomalyCapacity)
    }

    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestLatencyMicros, numberOfSignificantValueDigits: .three)
    }

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
        if start > 0 && (end == start || end > Self.bufferSize - FrameCodec.maxFrameSize * 4) {
            compact()
        }
        return buffer.withUnsafeMutableBytes { raw in
            body(UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
    }

    /// Bytes just read into the read space, received at `at`: reassemble and verify.
    public mutating func commit(count: Int, at: UInt64) {
        end += count
        counters.bytesEchoed += UInt64(count)
        parse(at: at)
        if end - start > Self.bufferSize - FrameCodec.maxFrameSize * 2 {
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

    private mutating func endStrayRun() {
        if strayRun >= FrameCodec.minFrameSize { unattributedDamage += 1 }
        strayRun = 0
    }

    private mutating func compact() {
        let n = end - start
        if n > 0 {
            buffer.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress!
                base.copyMemory(from: base + start, byteCount: n)
            }
        }
        start = 0
        end = n
    }

    private mutating func strayByte() {
        start += 1
        counters.strayBytes += 1
        strayRun += 1
    }

    private mutating func parse(at: UInt64) {
        while end - start >= 2 {
            let step: ParseStep = buffer.withUnsafeBufferPointer { buf in
                let p = buf.baseAddress! + start
                let avail = end - start
                if p[0] != FrameCodec.magic0 || p[1] != FrameCodec.magic1 { return .stray }
                if avail < FrameCodec.headerSize { return .needMore }
                guard let header = FrameCodec.parseHeader(p) else { return .stray }
                let seq = resolve(header.seq)
                let slot = Int(seq & Self.ringMask)
                let known = ringSeq[slot] == seq && ringState[slot] != .empty
                let length = known ? Int(ringLength[slot]) : header.length
                if avail < length { return .needMore }
                if header.length == length && FrameCodec.crcMatches(p, length: length) {
                    return .frame(seq: seq, length: length, known: known)
                }
                return known ? .damaged(seq: seq, length: length) : .stray
            }
            switch step {
            case .needMore:
                return
            case .stray:
                strayByte()
                skipToNextMagic()
            case .frame(let seq, let length, let known):
                start += length
                endStrayRun()
                accept(seq: seq, known: known, at: at)
            case .damaged(let seq, let length):
                start += length
                endStrayRun()
                damaged(seq: seq, at: at)
            }
        }
    }

    private enum ParseStep { case needMore, stray, frame(seq: UInt64, length: Int, known: Bool), damaged(seq: UInt64, length: Int) }

    private mutating func skipToNextMagic() {
        let skipped = buffer.withUnsafeBufferPointer { buf -> Int in
            var i = start
            while i < end && buf[i] != FrameCodec.magic0 { i += 1 }
            return i - start
        }
        start += skipped
        strayRun += skipped
        counters.strayBytes += UInt64(skipped)
    }

    /// The full sequence number of a 32-bit one on the wire: the closest one already sent.
    private func resolve(_ wire: UInt32) -> UInt64 {
        let high = nextSeq & ~UInt64(0xFFFF_FFFF)
        var seq = high | UInt64(wire)
        if seq >= nextSeq && seq >= (1 << 32) { seq -= 1 << 32 }
        return seq
    }

    private mutating func accept(seq: UInt64, known: Bool, at: UInt64) {
        guard known else {
            // Never sent (or so long ago that the ring forgot it).
            if seq < nextSeq && nextSeq - seq >= UInt64(Self.ringSize) {
                counters.duplicated += 1
                note(.duplicated, seq: seq, at: at)
            } else {
                counters.corrupted += 1
                note(.unexpected, seq: seq, at: at)
            }
            return
        }
        let slot = Int(seq & Self.ringMask)
        switch ringState[slot] {
        case .outstanding:
            outstanding -= 1
            let micros = recordLatency(slot: slot, at: at)
            counters.echoed += 1
            if let h = highestEchoed, seq < h {
                counters.outOfOrder += 1
                note(.outOfOrder, seq: seq, at: at, latency: micros)
            }
            ringState[slot] = .echoed
        case .lost:
            counters.lost -= 1
            counters.outOfOrder += 1
            counters.echoed += 1
            let micros = recordLatency(slot: slot, at: at)
            ringState[slot] = .echoed
            note(.late, seq: seq, at: at, latency: micros)
        case .corrupted:
            // The damaged frame we blamed on this one was another message's.
            ringState[slot] = .echoed
            counters.echoed += 1
            misattributedDamage += 1
            _ = recordLatency(slot: slot, at: at)
        case .echoed, .unanswered:
            counters.duplicated += 1
            note(.duplicated, seq: seq, at: at)
        case .empty:
            break
        }
        if highestEchoed.map({ seq > $0 }) ?? true { highestEchoed = seq }
    }

    private mutating func damaged(seq: UInt64, at: UInt64) {
        let slot = Int(seq & Self.ringMask)
        switch ringState[slot] {
        case .outstanding:
            outstanding -= 1
            ringState[slot] = .corrupted
            counters.corrupted += 1
            note(.corrupted, seq: seq, at: at)
        case .lost:
            counters.lost -= 1
            counters.corrupted += 1
            ringState[slot] = .corrupted
            note(.corrupted, seq: seq, at: at)
        default:
            // A damaged copy of a message already accounted for.
            counters.corrupted += 1
            note(.corrupted, seq: seq, at: at)
        }
    }

    private mutating func recordLatency(slot: Int, at: UInt64) -> UInt64 {
        let sentAt = ringSentAt[slot]
        let micros = Swift.max(1, Swift.min((at &- sentAt) / 1000, Self.highestLatencyMicros))
        _ = latency.record(micros)
        return micros
    }

    // MARK: time

    /// Counts as lost every message outstanding for longer than the loss timeout.
    public mutating func expire(now: UInt64) {
        while lowSeq < nextSeq {
            let slot = Int(lowSeq & Self.ringMask)
            if ringSeq[slot] == lowSeq && ringState[slot] == .outstanding {
                guard now >= ringSentAt[slot] && now - ringSentAt[slot] >= lossTimeout else { return }
                declareLost(slot: slot, at: now)
            }
            lowSeq += 1
        }
    }

    /// When the oldest outstanding message will be counted lost; nil when none is outstanding.
    public var nextExpiry: UInt64? {
        guard outstanding > 0 else { return nil }
        var s = lowSeq
        while s < nextSeq {
            let slot = Int(s & Self.ringMask)
            if ringSeq[slot] == s && ringState[slot] == .outstanding { return ringSentAt[slot] &+ lossTimeout }
            s += 1
        }
        return nil
    }

    private mutating func declareLost(slot: Int, at: UInt64) {
        outstanding -= 1
        let seq = ringSeq[slot]
        if misattributedDamage > 0 {
            misattributedDamage -= 1
            ringState[slot] = .corrupted
        } else if unattributedDamage > 0 || strayRun >= FrameCodec.minFrameSize {
            if unattributedDamage > 0 { unattributedDamage -= 1 } else { strayRun = 0 }
            ringState[slot] = .corrupted
            counters.corrupted += 1
            note(.corrupted, seq: seq, at: at)
        } else {
            ringState[slot] = .lost
            counters.lost += 1
            note(.lost, seq: seq, at: at)
        }
    }

    /// The link failed (hang or hang-up): what is in flight is neither echoed nor lost, and the
    /// bytes of a half-received frame are dropped. Sequence numbers go on.
    ///
    /// A loss is only certain once a later message came back: messages counted lost after the
    /// last echo died with the link, so they are counted unanswered instead. Returns how many.
    @discardableResult
    public mutating func abandonOutstanding() -> UInt64 {
        var reclassified: UInt64 = 0
        let firstSilent = highestEchoed.map { $0 + 1 } ?? 0
        var r = Swift.max(firstSilent, nextSeq > UInt64(Self.ringSize) ? nextSeq - UInt64(Self.ringSize) : 0)
        while r < lowSeq {
            let slot = Int(r & Self.ringMask)
            if ringSeq[slot] == r && ringState[slot] == .lost {
                ringState[slot] = .unanswered
                counters.lost -= 1
                counters.unanswered += 1
                reclassified += 1
            }
            r += 1
        }
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
        counters.strayBytes += UInt64(end - start)
        start = 0
        end = 0
        strayRun = 0
        return reclassified
    }

    // MARK: anomalies

    private mutating func note(_ kind: Anomaly.Kind, seq: UInt64, at: UInt64, latency: UInt64 = 0) {
        if anomalies.count < Self.anomalyCapacity {
            anomalies.append(Anomaly(kind: kind, seq: seq, at: at, latencyMicros: latency))
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
