/// Everything known around a link failure, and one line that says what most likely happened.
public struct Evidence: Sendable, Codable, Equatable {
    public struct Frame: Sendable, Codable, Equatable {
        public var seq: UInt64
        public var length: Int
        /// Seconds before the failure it was sent.
        public var sentAgo: Double
        /// echoed, lost, corrupted, unanswered, outstanding.
        public var state: String
        public var latencyMicros: UInt64?
    }
    public struct Line: Sendable, Codable, Equatable {
        public var source: SourceLine.Source
        /// Seconds relative to the failure (negative: before).
        public var offset: Double
        public var text: String
    }
    public var frames: [Frame]
    public var lines: [Line]
    public var diagnosis: String
}

public enum Diagnosis {
    /// The diagnosis line: what the kernel and the M7 said, and when, against the traffic.
    public static func explain(failure: String, at: UInt64, lastEchoAt: UInt64?, lines: [SourceLine],
                               findings: [(at: UInt64, finding: Finding)], uartWatched: Bool, kernelWatched: Bool) -> String {
        var parts = [failure]
        func ago(_ t: UInt64) -> String { seconds(Double(Int64(bitPattern: at &- t)) / 1e9) }
        let sinceEcho = lastEchoAt ?? 0
        let recent = findings.filter { $0.at + 10_000_000_000 >= sinceEcho }

        // The kick failure nearest after the last echo (every later send logs one more).
        let kicks = recent.filter { $0.finding.is(.mailboxKickTimeout) }
        let kick = kicks.first { $0.at >= sinceEcho } ?? kicks.last
        if let k = kick {
            let vq = k.finding.details?["vq"] ?? "?"
            if let e = lastEchoAt {
                let dt = Double(Int64(bitPattern: k.at &- e)) / 1e9
                parts.append("kick timeout on vq \(vq) \(seconds(abs(dt))) \(dt >= 0 ? "after" : "before") the last echo")
            } else {
                parts.append("kick timeout on vq \(vq) before any echo")
            }
        }
        if let a = recent.first(where: { $0.finding.is(.firmwareAssert) }) { parts.append(a.finding.explanation) }
        if recent.contains(where: { $0.finding.is(.firmwareHardfault) }) { parts.append("the M7 took a HardFault") }
        if recent.contains(where: { $0.finding.is(.ttyRemoved) }) { parts.append("the kernel removed the RPMsg tty driver") }
        if recent.contains(where: { $0.finding.is(.remoteprocCrash) }) { parts.append("remoteproc detected an M7 crash") }

        if uartWatched {
            // Lines read up to a moment after the failure count: a UART that goes on printing
            // shows itself only after the event that ended the link.
            let uart = lines.filter { $0.source == .uart }
            let halted = kick != nil || recent.contains { $0.finding.is(.firmwareAssert) || $0.finding.is(.firmwareHardfault) }
            // The moment the core stopped serving: its assert or HardFault line, or the first kick
            // failure, after the last echo; else a moment after the last echo. Only lines after it
            // show that the core lives: an assert line is the core's last word, not a sign of life,
            // however close to the failure it came.
            let stops = recent.filter { ($0.finding.is(.firmwareAssert) || $0.finding.is(.firmwareHardfault) || $0.finding.is(.mailboxKickTimeout))
                && $0.at >= sinceEcho }.map(\.at)
            let stoppedAt = stops.min() ?? lastEchoAt.map { $0 &+ 50_000_000 }
            if let last = uart.last {
                let printingAfterStop = stoppedAt.map { m in uart.contains { $0.at > m } } ?? false
                if printingAfterStop && last.at &+ 2_000_000_000 >= at {
                    let when = last.at >= at ? "\(seconds(Double(last.at - at) / 1e9)) after" : "\(ago(last.at)) before"
                    parts.append("UART still printing (last line \(when))" + (halted ? ": interrupt masked or starved" : ""))
                } else {
                    let before = uart.last { $0.at <= at } ?? last
                    parts.append("UART silent since \(before.at <= at ? ago(before.at) : "0 ms") before" + (halted ? ": core halted or clock-gated" : ""))
                }
            } else {
                parts.append("UART silent" + (halted ? ": core halted or clock-gated" : ""))
            }
        }
        if !kernelWatched && !uartWatched {
            parts.append("neither the M7 UART nor the kernel log was watched: name them in the board file (uart, kernel_log) for a diagnosis")
        } else if kernelWatched && kick == nil && !lines.contains(where: { $0.source == .kernel && $0.at + 10_000_000_000 >= sinceEcho }) {
            parts.append("no kernel message")
        }
        return parts.joined(separator: "; ")
    }

    static func seconds(_ s: Double) -> String {
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        return "\((s * 10).rounded() / 10) s"
    }
}
