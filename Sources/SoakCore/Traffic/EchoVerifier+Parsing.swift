import Histogram

/// Parsing: frames are reassembled from the receive buffer and each one is verified against
/// the ring of sent messages (echoed, late, duplicated, out of order, unexpected), a damaged
/// frame of a known message is told apart as damaged in place, cut short or whole with bytes
/// inserted into it, and its latency recorded. Also the end of the stream, which decides what
/// is left in the buffer.
extension EchoVerifier {
    mutating func parse(at: UInt64, final: Bool = false) {
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

    static func allHex(_ p: UnsafePointer<UInt8>, count: Int) -> Bool {
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
        latency.record(micros)
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
}
