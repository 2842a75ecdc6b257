/// What a failure leaves behind: the last frames, the UART and kernel lines around it, the
/// diagnosis, and what was in flight.
enum FailureEvidence {
    /// Lines further back than this are not evidence of this failure.
    static let window: UInt64 = 10_000_000_000

    /// Builds the failure record and settles the verifier: what was in flight is unanswered.
    static func collect(_ kind: LinkFailure.Kind, reason: String, now: UInt64, cycleStart: UInt64,
                        verifier: inout EchoVerifier, lastEchoAt: UInt64?, watcher: LineWatcher, longestWrite: UInt64?,
                        uartWatched: Bool, kernelWatched: Bool) -> LinkFailure {
        let frames = verifier.recentFrames(count: 16, now: now)
        let lines = watcher.recentLines.filter { $0.at &+ window >= now && $0.at >= cycleStart }
        let head: String
        switch kind {
        case .hang: head = "hang: \(reason)"
        case .linkLost: head = "link lost: \(reason)"
        case .finding: head = reason
        }
        var diagnosis = Diagnosis.explain(failure: head, at: now, lastEchoAt: lastEchoAt, lines: lines,
                                          findings: watcher.findings.filter { $0.at >= cycleStart },
                                          uartWatched: uartWatched, kernelWatched: kernelWatched)
        if let w = longestWrite {
            diagnosis += "; a write() was held \(Diagnosis.seconds(Double(w) / 1e9)) in the driver (the kernel waits for the M7 inside write: a mailbox timeout or no free TX buffer)"
        }
        let evidence = Evidence(frames: frames, lines: lines.suffix(200).map {
            Evidence.Line(source: $0.source, offset: Double(Int64(bitPattern: $0.at &- now)) / 1e9, text: $0.text)
        }, diagnosis: diagnosis)
        let inFlight = verifier.outstanding
        let lastSent = verifier.nextSeq > 0 ? verifier.nextSeq - 1 : nil
        let reclassified = verifier.abandonOutstanding()
        return LinkFailure(kind: kind, reason: reason, outstanding: inFlight, lostBeforeFailure: reclassified,
                           lastSeqSent: lastSent,
                           sinceLastEcho: lastEchoAt.map { Double(now &- $0) / 1e9 },
                           messagesSinceStart: verifier.counters.sent, evidence: evidence)
    }
}
