/// Time and loss: a message outstanding for longer than the loss timeout is counted lost (or
/// corrupted, when a damaged frame or a long stray run can be blamed on it), and when the link
/// fails what is in flight is counted unanswered and a half-received frame is dropped as stray.
extension EchoVerifier {
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

    mutating func declareLost(slot: Int, at: UInt64) {
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
}
