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
    /// a frame damaged beyond recognition: the next loss is counted corrupted.
    private var strayRun = 0
    /// Where the current stray run began in the buffer, and whether right after a verified frame.
    private var runStart = 0
    private var runAfterFrame = false
    /// The run grew longer than the buffer keeps: its first bytes are gone.
    private var runHistoryLost = false
    /// The run in progress was already taken as the damaged frame of a loss.
    private var runCountedAsDamage = false
    /// Buffer index right after the last verified frame; -1 when not in the buffer.
    private var lastFrameEnd = -1
    private var lastVerifiedSeq: UInt64?
    private var strayRunsListed = 0
    /// A damaged frame waits for a few more bytes to tell an insertion into it from damage.
    private var stalledAt: UInt64?
    private var lastAt: UInt64 = 0
    /// Rebuilds a frame without bytes inserted into it (damage only).
    private var scratch: [UInt8]

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
        scratch = [UInt8](repeating: 0, count: FrameCodec.maxFrameSize)
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

    // MARK: stray runs

    private mutating func beginRunIfNeeded() {
        guard strayRun == 0 else { return }
        runStart = start
        runAfterFrame = start == lastFrameEnd
        runHistoryLost = false
        runCountedAsDamage = false
    }

    private mutating func strayByte() {
        beginRunIfNeeded()
        start += 1
        counters.strayBytes += 1
        strayRun += 1
    }

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

    /// The stray run in progress ended (a frame came, or the stream ended): attributes it. A run
    /// that may be a whole message damaged beyond recognition makes the next loss a corruption.
    private mutating func endStrayRun(seqAfter: UInt64?, at: UInt64, countsAsDamage: Bool = true) {
        guard strayRun > 0 else { return }
        let length = strayRun
        strayRun = 0
        let countsAsDamage = countsAsDamage && !runCountedAsDamage
        if runHistoryLost {
            recordStray(.inserted, from: start - Swift.min(start, StrayRun.headCapacity), length: length,
                        seqBefore: lastVerifiedSeq, seqAfter: seqAfter, at: at)
            if countsAsDamage { unattributedDamage += 1 }
            return
        }
        let kind = classify(from: runStart, length: length, afterFrame: runAfterFrame)
        if countsAsDamage && (kind == .truncated || (kind != .repeated && length >= FrameCodec.minFrameSize)) {
            unattributedDamage += 1
        }
        recordStray(kind, from: runStart, length: length, seqBefore: lastVerifiedSeq, seqAfter: seqAfter, at: at)
    }

    /// What the `length` stray bytes at `from` in the buffer were. Looks only at the buffer:
    /// the bytes before `from` are the stream just seen.
    private func classify(from: Int, length: Int, afterFrame: Bool) -> StrayKind {
        buffer.withUnsafeBufferPointer { buf -> StrayKind in
            let p = buf.baseAddress!
            if Self.isRepeat(p, from: from, length: length, end: end) { return .repeated }
            let q = p + from
            let startsWithMagic = length >= 2 && q[0] == FrameCodec.magic0 && q[1] == FrameCodec.magic1
            if startsWithMagic {
                let hex = Self.allHex(q + 2, count: Swift.min(length, FrameCodec.headerSize) - 2)
                if hex && (length < FrameCodec.headerSize || FrameCodec.parseHeader(q) != nil) { return .truncated }
                return .inserted
            }
            // As long as a frame: a frame damaged beyond recognition, not an extension.
            return afterFrame && length < FrameCodec.minFrameSize ? .extended : .inserted
        }
    }

    /// True when the run equals the bytes right before it or right after it, or (4 bytes or
    /// more) a piece of the last `historySize` bytes before it.
    private static func isRepeat(_ p: UnsafePointer<UInt8>, from: Int, length d: Int, end: Int) -> Bool {
        guard d > 0 && d <= FrameCodec.maxFrameSize else { return false }
        func same(_ a: Int, _ b: Int) -> Bool {
            var i = 0
            while i < d { if p[a + i] != p[b + i] { return false }; i += 1 }
            return true
        }
        if from >= d && same(from - d, from) { return true }
        if from + 2 * d <= end && same(from + d, from) { return true }
        if d >= 4 {
            var i = from - Swift.min(from, historySize)
            while i + d <= from {
                if same(i, from) { return true }
                i += 1
            }
        }
        return false
    }

    private mutating func recordStray(_ kind: StrayKind, from: Int, length: Int, seqBefore: UInt64?, seqAfter: UInt64?, at: UInt64) {
        counters.strayRuns += 1
        let n = UInt64(length)
        switch kind {
        case .truncated: counters.strayTruncated += n
        case .extended: counters.strayExtended += n
        case .repeated: counters.strayRepeated += n
        case .inserted: counters.strayInserted += n
        }
        guard strayRunsListed < Self.strayEvidenceLimit else { return }
        strayRunsListed += 1
        var run = StrayRun(kind: kind, length: length, seqBefore: seqBefore, seqAfter: seqAfter)
        let count = Swift.max(0, Swift.min(StrayRun.headCapacity, length, end - from))
        buffer.withUnsafeBufferPointer { buf in
            for i in 0..<count { run.head[i] = buf[from + i] }
        }
        run.headCount = count
        note(.stray, seq: seqAfter ?? seqBefore ?? 0, at: at, stray: run)
    }

    // MARK: parsing

    private mutating func parse(at: UInt64, final: Bool = false) {
        while end - start >= 1 {
            let step: ParseStep = buffer.withUnsafeBufferPointer { buf in
                let p = buf.baseAddress! + start
                let avail = end - start
                if p[0] != FrameCodec.magic0 { return .stray }
                if avail < 2 { return .needMore }
                if p[1] != FrameCodec.magic1 { return .stray }
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
                endStrayRun(seqAfter: seq, at: at)
                start += length
                if known {
                    lastFrameEnd = start
                    lastVerifiedSeq = seq
                }
                accept(seq: seq, known: known, at: at)
            case .damaged(let seq, let length):
                switch examineDamaged(length: length, final: final) {
                case .wait:
                    if stalledAt == nil { stalledAt = at }
                    return
                case .damaged:
                    endStrayRun(seqAfter: seq, at: at)
                    start += length
                    damaged(seq: seq, at: at)
                case .truncated(let k):
                    // The frame was cut short: its bytes up to the next header are stray.
                    endStrayRun(seqAfter: seq, at: at)
                    let kind = classify(from: start, length: k, afterFrame: start == lastFrameEnd)
                    counters.strayBytes += UInt64(k)
                    if kind != .repeated { damaged(seq: seq, at: at) }
                    let next = buffer.withUnsafeBufferPointer { buf -> UInt64? in
                        start + k + FrameCodec.headerSize <= end ? FrameCodec.parseHeader(buf.baseAddress! + start + k).map { resolve($0.seq) } : nil
                    }
                    recordStray(kind == .repeated ? .repeated : .truncated, from: start, length: k,
                                seqBefore: lastVerifiedSeq, seqAfter: next, at: at)
                    start += k
                case .insertion(let j, let d):
                    // The frame is whole once `d` bytes at `j` are taken out: echoed, and the
                    // bytes are stray (their neighbours are this frame on both sides).
                    endStrayRun(seqAfter: seq, at: at)
                    let kind = classify(from: start + j, length: d, afterFrame: false)
                    counters.strayBytes += UInt64(d)
                    recordStray(kind == .repeated ? .repeated : .inserted, from: start + j, length: d,
                                seqBefore: seq, seqAfter: seq, at: at)
                    start += length + d
                    lastFrameEnd = start
                    lastVerifiedSeq = seq
                    accept(seq: seq, known: true, at: at)
                }
            }
            stalledAt = nil
        }
    }

    private static func allHex(_ p: UnsafePointer<UInt8>, count: Int) -> Bool {
        var i = 0
        while i < count {
            let c = p[i]
            if !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46)) { return false }
            i += 1
        }
        return true
    }

    private enum ParseStep { case needMore, stray, frame(seq: UInt64, length: Int, known: Bool), damaged(seq: UInt64, length: Int) }
    private enum DamageShape: Equatable { case wait, damaged, truncated(Int), insertion(at: Int, count: Int) }

    /// A frame of a known message whose CRC does not match: damaged in place, cut short (the
    /// next frame's header starts inside it), or whole with a few bytes inserted into it (the
    /// next frame's magic comes up to `maxInsertion` bytes late, and taking that many bytes
    /// out somewhere makes the CRC match). Waits for those bytes unless `final`. Damage only:
    /// the clean path never comes here.
    private mutating func examineDamaged(length: Int, final: Bool) -> DamageShape {
        var work: [UInt8] = []
        swap(&work, &scratch)
        defer { swap(&work, &scratch) }
        return buffer.withUnsafeBufferPointer { buf -> DamageShape in
            work.withUnsafeMutableBufferPointer { out -> DamageShape in
                let p = buf.baseAddress! + start
                let avail = end - start
                let magic0 = FrameCodec.magic0, magic1 = FrameCodec.magic1
                var k = 2
                while k < length {
                    if p[k] == magic0 && (k + 1 >= avail || p[k + 1] == magic1) {
                        if k + FrameCodec.headerSize <= avail {
                            if FrameCodec.parseHeader(p + k) != nil { return .truncated(k) }
                        } else if Self.allHex(p + k + 2, count: avail - k - 2) {
                            // The start of a header, or of a payload that looks like one: more bytes tell.
                            if !final { return .wait }
                            return .truncated(k)
                        }
                    }
                    k += 1
                }
                if avail > length && p[length] == magic0 { return .damaged }
                // Where the next frame's magic may be: 1 ... maxInsertion bytes after the span.
                var sawMagic = false
                let q = out.baseAddress!
                var d = 1
                while d <= Self.maxInsertion && length + d < avail {
                    defer { d += 1 }
                    guard p[length + d] == magic0 && (length + d + 1 >= avail || p[length + d + 1] == magic1) else { continue }
                    sawMagic = true
                    // j is where the inserted bytes begin: the frame is p[0..<j] + p[j+d..<length+d].
                    // From j = length down, one byte changes per step.
                    q.update(from: p, count: length)
                    var j = length - 1
                    while j >= 2 {
                        q[j] = p[j + d]
                        if FrameCodec.crcMatches(UnsafePointer(q), length: length),
                           let h = FrameCodec.parseHeader(UnsafePointer(q)), h.length == length,
                           FrameCodec.parseHeader(p).map({ $0.seq == h.seq }) ?? false {
                            return .insertion(at: j, count: d)
                        }
                        j -= 1
                    }
                }
                if !sawMagic && !final && avail < length + Self.maxInsertion + 2 { return .wait }
                return .damaged
            }
        }
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

    /// No more bytes will come (the run's last echoes are in): a damaged frame is decided, the
    /// stray run in progress ends, and a partial frame left in the buffer is stray (truncated).
    public mutating func endOfStream(at: UInt64) {
        parse(at: at, final: true)
        endStrayRun(seqAfter: nil, at: at)
        if end > start {
            beginRunIfNeeded()
            strayRun = end - start
            counters.strayBytes += UInt64(end - start)
            start = end
            endStrayRun(seqAfter: nil, at: at)
        }
        stalledAt = nil
    }

    // MARK: time

    /// Counts as lost every message outstanding for longer than the loss timeout.
    public mutating func expire(now: UInt64) {
        if strayRun > 0 && now &- lastAt >= lossTimeout / 4 {
            // Quiet since the last stray byte: the run is over.
            endStrayRun(seqAfter: nil, at: lastAt)
        }
        if let s = stalledAt, now &- s >= lossTimeout / 4 || (nextExpiry.map { now >= $0 } ?? false) {
            // No more bytes came to tell an insertion from damage: decide with what is there.
            stalledAt = nil
            parse(at: now, final: true)
        }
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
        } else if unattributedDamage > 0 || (strayRun >= FrameCodec.minFrameSize && !runCountedAsDamage) {
            if unattributedDamage > 0 { unattributedDamage -= 1 } else { runCountedAsDamage = true }
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
        settleInterrupted()
        // The bytes of a half-received frame died with the link: stray (a truncated frame).
        endStrayRun(seqAfter: nil, at: lastAt, countsAsDamage: false)
        if end > start {
            beginRunIfNeeded()
            strayRun = end - start
            counters.strayBytes += UInt64(end - start)
            start = end
            endStrayRun(seqAfter: nil, at: lastAt, countsAsDamage: false)
        }
        start = 0
        end = 0
        strayRun = 0
        lastFrameEnd = -1
        stalledAt = nil
        return reclassified
    }

    // MARK: anomalies

    private mutating func note(_ kind: Anomaly.Kind, seq: UInt64, at: UInt64, latency: UInt64 = 0, stray: StrayRun? = nil) {
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
