// The per-message hot path of a soak, piece by piece and as one cycle: what the tester spends
// on each message besides the system calls. Every benchmark runs 1,000 messages per iteration
// (scalingFactor .kilo), so the scaled figures (`*` in the output) are per message.
//
// Allocations must be 0 per message: a malloc per message is a malloc per echo for the
// whole of an overnight run, and the issue asks for none.
import Benchmark
import SoakCore

/// Wall clock and allocations, per message.
func perMessage() -> Benchmark.Configuration {
    Benchmark.Configuration(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .nanoseconds,
    warmupIterations: 10,
    scalingFactor: .kilo,
    maxDuration: .seconds(2),
    maxIterations: 10_000,
    thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])]
    )
}

/// 1,000 consecutive frames of `length` bytes starting at sequence number 0, laid end to end,
/// as the echo firmware would send them back.
func preEncoded(count: Int, length: Int, payload: PayloadEncoding, seed: UInt64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count * length)
    bytes.withUnsafeMutableBytes { raw in
        for i in 0..<count {
            FrameCodec.encode(seq: UInt32(i), length: length, payload: payload, seed: seed,
                              into: UnsafeMutableRawBufferPointer(rebasing: raw[(i * length)..<((i + 1) * length)]))
        }
    }
    return bytes
}

let benchmarks: @Sendable () -> Void = {
    let seed: UInt64 = 7
    let lossTimeout = SoakDuration.seconds(2)

    for length in [64, 496] {
        Benchmark("FrameCodec.encode \(length) B", configuration: perMessage()) { benchmark in
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameCodec.maxFrameSize, alignment: 8)
            defer { out.deallocate() }
            benchmark.startMeasurement()
            var seq: UInt32 = 0
            for _ in benchmark.scaledIterations {
                FrameCodec.encode(seq: seq, length: length, payload: .binary, seed: seed, into: out)
                blackHole(out[length - 1])
                seq &+= 1
            }
            benchmark.stopMeasurement()
        }
    }

    // Decode and verify: the frame was sent (registerSent), its echo arrives in one read
    // (ingest: reassemble, header, CRC, ring lookup, latency), then the loss sweep (expire).
    // Each iteration starts a fresh verifier so the pre-encoded echoes (seq 0...999) match.
    for length in [64, 496] {
        let echoes = preEncoded(count: 1000, length: length, payload: .binary, seed: seed)
        Benchmark("EchoVerifier decode+verify \(length) B", configuration: perMessage()) { benchmark in
            var verifier = EchoVerifier(lossTimeout: lossTimeout)
            var t: UInt64 = 1_000_000_000
            echoes.withUnsafeBytes { echoes in
                benchmark.startMeasurement()
                for i in benchmark.scaledIterations {
                    verifier.registerSent(length: length, at: t)
                    verifier.ingest(UnsafeRawBufferPointer(rebasing: echoes[(i * length)..<((i + 1) * length)]), at: t &+ 40_000)
                    verifier.expire(now: t &+ 40_000)
                    t &+= 50_000
                }
                benchmark.stopMeasurement()
            }
            precondition(verifier.counters.echoed == 1000 && verifier.counters.corrupted == 0, "the echoes must verify")
            blackHole(verifier.counters)
        }
    }

    // The latency histogram of one interval: a record per echo.
    Benchmark("IntervalHistogram.record", configuration: perMessage()) { benchmark in
        var histogram = IntervalHistogram()
        var state: UInt64 = seed
        var values = [UInt64](repeating: 0, count: 1000)
        for i in values.indices { values[i] = 20 + SplitMix64.next(&state) % 2_000 }
        values.withUnsafeBufferPointer { values in
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                histogram.record(values[i])
            }
            benchmark.stopMeasurement()
        }
        blackHole(histogram.totalCount)
    }

    // The whole in-memory life of a message, as the runner does it (less the system calls):
    // encode into the send buffer, register it sent, take its echo in, sweep for losses.
    // One verifier for the whole run, as in a soak: sequence numbers go on across iterations.
    var cycleVerifier = EchoVerifier(lossTimeout: lossTimeout)
    var cycleTime: UInt64 = 1_000_000_000
    Benchmark("Cycle encode+send+echo+verify 64 B", configuration: perMessage()) { benchmark in
        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameCodec.maxFrameSize, alignment: 8)
        defer { frame.deallocate() }
        let sentBefore = cycleVerifier.counters.sent
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let seq = UInt32(truncatingIfNeeded: cycleVerifier.nextSeq)
            FrameCodec.encode(seq: seq, length: 64, payload: .binary, seed: seed, into: frame)
            cycleVerifier.registerSent(length: 64, at: cycleTime)
            cycleVerifier.ingest(UnsafeRawBufferPointer(rebasing: frame[0..<64]), at: cycleTime &+ 40_000)
            cycleVerifier.expire(now: cycleTime &+ 40_000)
            cycleTime &+= 50_000
        }
        benchmark.stopMeasurement()
        precondition(cycleVerifier.counters.echoed == cycleVerifier.counters.sent
                     && cycleVerifier.counters.sent - sentBefore == 1000, "every echo must verify")
        // The runner folds the interval histogram away every report_interval.
        cycleVerifier.resetIntervalLatency()
    }

    // The same with 16 in flight and the echoes of all 16 arriving in one read, as at
    // window 16 on a fast link.
    for length in [64, 496] {
        var windowVerifier = EchoVerifier(lossTimeout: lossTimeout)
        var windowTime: UInt64 = 1_000_000_000
        Benchmark("Cycle window 16, one read per 16 echoes, \(length) B", configuration: perMessage()) { benchmark in
            let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * length, alignment: 8)
            defer { batch.deallocate() }
            benchmark.startMeasurement()
            var remaining = benchmark.scaledIterations.count
            while remaining > 0 {
                let inFlight = Swift.min(16, remaining)
                remaining -= inFlight
                for k in 0..<inFlight {
                    let seq = UInt32(truncatingIfNeeded: windowVerifier.nextSeq)
                    FrameCodec.encode(seq: seq, length: length, payload: .binary, seed: seed,
                                      into: UnsafeMutableRawBufferPointer(rebasing: batch[(k * length)..<((k + 1) * length)]))
                    windowVerifier.registerSent(length: length, at: windowTime)
                }
                windowVerifier.ingest(UnsafeRawBufferPointer(rebasing: batch[0..<(inFlight * length)]), at: windowTime &+ 100_000)
                windowVerifier.expire(now: windowTime &+ 100_000)
                windowTime &+= 120_000
            }
            benchmark.stopMeasurement()
            precondition(windowVerifier.counters.echoed == windowVerifier.counters.sent, "every echo must verify")
            windowVerifier.resetIntervalLatency()
        }
    }
}
