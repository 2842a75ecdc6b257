/// Stray runs: every byte that is not part of a verified frame belongs to a run of stray bytes,
/// and when the run ends (a frame comes, the stream ends, the link goes quiet) it is attributed
/// as a truncated frame, an extended frame, a repeated run or an inserted run (`StrayKind`),
/// counted, and listed with its first bytes up to `strayEvidenceLimit`. A run that may be a whole
/// message damaged beyond recognition makes the next loss a corruption.
extension EchoVerifier {
    mutating func beginRunIfNeeded() {
        guard strayRun == 0 else { return }
        runStart = start
        runAfterFrame = start == lastFrameEnd
        runHistoryLost = false
        runCountedAsDamage = false
    }

    mutating func strayByte() {
        beginRunIfNeeded()
        start += 1
        counters.strayBytes += 1
        strayRun += 1
    }

    mutating func skipToNextMagic() {
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
    mutating func endStrayRun(seqAfter: UInt64?, at: UInt64, countsAsDamage: Bool = true) {
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
    func classify(from: Int, length: Int, afterFrame: Bool) -> StrayKind {
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

    mutating func recordStray(_ kind: StrayKind, from: Int, length: Int, seqBefore: UInt64?, seqAfter: UInt64?, at: UInt64) {
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
}
