/// Bytes already waiting in a link that just opened (the driver's "hello world!" greeting,
/// echoes of a previous run) are nobody's echo: read without sending until `quiet` passes with
/// nothing new (at most `limit`, `maxBytes`). Waits through the link and the waiter: on virtual
/// time it never sleeps.
enum LinkDrain {
    static let quiet: UInt64 = 50_000_000
    static let limit: UInt64 = 500_000_000
    static let maxBytes = 64 * 1024

    /// What was drained, as the timeline says it; nil when nothing was waiting.
    static func read(_ link: Link, clock: SoakClock, waiter: Waiter, after what: String) -> String? {
        let begin = clock.now()
        let hardEnd = begin &+ limit
        var quietEnd = begin &+ quiet
        var head: [UInt8] = []
        var total = 0
        var scratch = [UInt8](repeating: 0, count: 4096)
        var ended: String?
        var idle = 0
        reading: while total < maxBytes {
            let now = clock.now()
            let until = min(quietEnd, hardEnd)
            if now >= until { break }
            let ready = link.wait(forWrite: false, timeout: until - now)
            if ready.readable || ready.hangup {
                while total < maxBytes {
                    let room = maxBytes - total
                    let io = scratch.withUnsafeMutableBytes { link.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<min($0.count, room)])) }
                    switch io {
                    case .done(let n, _):
                        if n == 0 { break reading }
                        if head.count < StrayRun.headCapacity { head += scratch[0..<min(n, StrayRun.headCapacity - head.count)] }
                        total += n
                        quietEnd = clock.now() &+ quiet
                    case .wouldBlock: continue reading
                    case .hangup(let why), .failed(let why):
                        // The soak loop meets it again on its first wait and says what it is.
                        ended = why
                        break reading
                    }
                }
            } else if clock.now() == now {
                // A link that returned at once without passing time: let the waiter pass it.
                waiter.wait(until: until)
                if clock.now() == now {
                    idle += 1
                    if idle > 3 { break }
                }
            }
        }
        guard total > 0 else { return nil }
        let more = total > head.count ? " ..." : ""
        var message = "drained \(total) byte\(total == 1 ? "" : "s") waiting in \(link.path) at \(what), before the first send (not judged): \(StrayRun.hex(head))\(more)"
        if total >= maxBytes { message += "; stopped after \(maxBytes) bytes" }
        if let ended { message += "; then: \(ended)" }
        return message
    }
}
