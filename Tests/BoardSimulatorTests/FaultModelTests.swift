import BoardSimulator
import Foundation
import SoakCore
import Testing

/// Each fault model on the firmware alone, in simulated time (no sleeping): what Linux, the
/// UART and the echo show once it strikes.
struct FaultModelTests {
    static let ms: UInt64 = 1_000_000
    static let message = Array("#R hello from linux".utf8)

    /// A firmware whose only fault strikes at a known time: with MTBF far beyond the test,
    /// the fault is forced by giving a tiny MTBF and a seed, then reading the time it struck.
    static func firmware(_ kind: FaultSpec.Kind, heartbeat: SoakDuration? = nil, seed: UInt64 = 7) -> EchoFirmware {
        EchoFirmware(uartBaud: 0, heartbeat: heartbeat, faults: [FaultSpec(kind: kind, mtbf: .milliseconds(100))], seed: seed)
    }

    /// Sends one message every 10 ms for `duration` ms and collects everything the board does.
    static func drive(_ fw: inout EchoFirmware, ms duration: UInt64, from start: UInt64 = 0) -> [(UInt64, EchoFirmware.Output)] {
        var out: [(UInt64, EchoFirmware.Output)] = []
        var t = start
        while t < start + duration * ms {
            for o in fw.receive(ArraySlice(message), now: t) { out.append((t, o)) }
            for o in fw.service(now: t) { out.append((t, o)) }
            t += 10 * ms
            for o in fw.service(now: t) { out.append((t, o)) }
        }
        return out
    }

    static func echoes(_ outs: [(UInt64, EchoFirmware.Output)]) -> [(UInt64, [UInt8])] {
        outs.compactMap { if case .echo(let b) = $0.1 { return ($0.0, b) } else { return nil } }
    }
    static func uart(_ outs: [(UInt64, EchoFirmware.Output)]) -> [(UInt64, String)] {
        outs.compactMap { if case .uart(let s) = $0.1 { return ($0.0, s) } else { return nil } }
    }
    static func kernel(_ outs: [(UInt64, EchoFirmware.Output)]) -> [(UInt64, String)] {
        outs.compactMap { if case .kernel(_, let s) = $0.1 { return ($0.0, s) } else { return nil } }
    }

    @Test func kickHaltSilencesTheUartAndEveryLaterSendLogsTheKickFailure() throws {
        var fw = Self.firmware(.kickHalt, heartbeat: .milliseconds(50))
        let outs = Self.drive(&fw, ms: 2000)
        let struck = try #require(fw.faultLog.first?.at)
        #expect(fw.mode == .halted(.kickHalt))
        #expect(Self.echoes(outs).allSatisfy { $0.0 <= struck }, "no echo after the fault")
        #expect(Self.uart(outs).allSatisfy { $0.0 <= struck }, "the UART falls silent, heartbeat too")
        let kicks = Self.kernel(outs).filter { $0.1 == EchoFirmware.kickFailure }
        let sendsAfter = (2000 * Self.ms - struck) / (10 * Self.ms)
        #expect(kicks.count >= Int(sendsAfter) - 1, "one kick failure per send after the fault")
        #expect(kicks.allSatisfy { $0.0 >= struck })
        #expect(outs.contains { if case .stall(EchoFirmware.mailboxTxTimeout) = $0.1 { return true } else { return false } },
                "each failing send costs Linux the 100 ms mailbox TX timeout")
    }

    @Test func kickAliveKeepsTheUartPrintingButStopsTheEcho() throws {
        var fw = Self.firmware(.kickAlive, heartbeat: .milliseconds(50))
        let outs = Self.drive(&fw, ms: 2000)
        let struck = try #require(fw.faultLog.first?.at)
        #expect(fw.mode == .stuck)
        #expect(Self.echoes(outs).allSatisfy { $0.0 <= struck })
        let later = Self.uart(outs).filter { $0.0 > struck + 200 * Self.ms }
        #expect(!later.isEmpty && later.allSatisfy { $0.1.hasPrefix("[M7] heartbeat") }, "the core still runs its other tasks")
        #expect(Self.kernel(outs).contains { $0.1 == EchoFirmware.kickFailure })
    }

    @Test func assertPrintsTheNxpLineThenSilence() throws {
        var fw = Self.firmware(.assert)
        let outs = Self.drive(&fw, ms: 1000)
        let struck = try #require(fw.faultLog.first?.at)
        let lines = Self.uart(outs).filter { $0.0 >= struck }
        #expect(lines.map(\.1) == [EchoFirmware.assertLine])
        #expect(EchoFirmware.assertLine.hasPrefix("ASSERT ERROR \" len < 512 \": file \""))
        #expect(Self.kernel(outs).contains { $0.1 == EchoFirmware.kickFailure })
    }

    @Test func hardFaultIsSilentAndHaltsTheLink() throws {
        var fw = Self.firmware(.hardfault)
        let outs = Self.drive(&fw, ms: 1000)
        let struck = try #require(fw.faultLog.first?.at)
        #expect(Self.uart(outs).allSatisfy { $0.0 <= struck })
        #expect(fw.mode == .halted(.hardfault))
    }

    @Test func dropLosesExactlyOneMessagePerFault() {
        var fw = EchoFirmware(uartBaud: 0, faults: [FaultSpec(kind: .drop, mtbf: .milliseconds(300))], seed: 3)
        let outs = Self.drive(&fw, ms: 3000)
        let sent = 300
        #expect(Self.echoes(outs).count == sent - fw.faultLog.count)
        #expect(fw.faultLog.count >= 3)
        #expect(Self.uart(outs).count == sent, "a dropped message is still printed: the firmware got it")
    }

    @Test func corruptChangesOneBitOfOneEchoPerFault() {
        var fw = EchoFirmware(uartBaud: 0, faults: [FaultSpec(kind: .corrupt, mtbf: .milliseconds(300))], seed: 4)
        let outs = Self.drive(&fw, ms: 3000)
        let damaged = Self.echoes(outs).filter { $0.1 != Self.message }
        #expect(damaged.count == fw.faultLog.count && damaged.count >= 3)
        for d in damaged {
            let bits = zip(d.1, Self.message).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +)
            #expect(bits == 1)
        }
    }

    @Test func hangupRemovesTheDriverAndSaysForHowLong() throws {
        var fw = EchoFirmware(uartBaud: 0, faults: [FaultSpec(kind: .hangup, mtbf: .milliseconds(200), down: .seconds(3))], seed: 5)
        let outs = Self.drive(&fw, ms: 1000)
        let hang = try #require(outs.first { if case .hangup = $0.1 { return true } else { return false } })
        #expect(hang.1 == .hangup(down: 3_000_000_000))
        #expect(Self.kernel(outs).contains { $0.1.hasSuffix("rpmsg tty driver is removed") })
    }

    @Test func latencySpikeHoldsEchoesBackThenDeliversThemAll() throws {
        let spec = FaultSpec(kind: .latency, mtbf: .seconds(2), spike: .milliseconds(300))
        // A seed whose first spike comes early and alone in the 1.5 s driven here.
        let seed = try #require((UInt64(1)...500).first { seed in
            var clock = FaultClock(specs: [spec], seed: seed)
            let first = clock.earliest ?? 0
            _ = clock.due(now: first)
            return first > 100 * Self.ms && first < 600 * Self.ms && (clock.earliest ?? 0) > 2000 * Self.ms
        })
        var fw = EchoFirmware(uartBaud: 0, faults: [spec], seed: seed)
        let outs = Self.drive(&fw, ms: 1500)
        let struck = try #require(fw.faultLog.first?.at)
        let echoes = Self.echoes(outs)
        #expect(echoes.count == 150, "held back, not lost")
        #expect(!echoes.contains { $0.0 > struck + 10 * Self.ms && $0.0 < struck + 300 * Self.ms }, "held back during the spike")
        #expect(echoes.contains { $0.0 == struck + 300 * Self.ms }, "released when the spike ends")
    }

    @Test func theSameSeedGivesTheSameFaultTimesAndBytes() {
        func run(_ seed: UInt64) -> ([UInt64], [[UInt8]]) {
            var fw = EchoFirmware(uartBaud: 0, faults: [FaultSpec(kind: .corrupt, mtbf: .milliseconds(200)),
                                                        FaultSpec(kind: .drop, mtbf: .milliseconds(300))], seed: seed)
            let outs = Self.drive(&fw, ms: 3000)
            return (fw.faultLog.map(\.at), Self.echoes(outs).map(\.1))
        }
        let a = run(11), b = run(11), c = run(12)
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.0 != c.0)
    }

    /// Kick-timeout MTBF of 2 s, observed as a tester would (the first kick failure after each
    /// power-on, with a message every 10 ms), over 200 power cycles in simulated time: the mean
    /// time to failure lies within the exact 95% confidence bounds of an exponential mean.
    @Test func kickTimeoutMeanTimeToFailureMatchesItsMtbf() {
        let mtbf = 2.0
        var ttf: [Double] = []
        var t: UInt64 = 0
        for cycle in 0..<200 {
            var fw = EchoFirmware(uartBaud: 0, faults: [FaultSpec(kind: .kickHalt, mtbf: .seconds(mtbf))],
                                  seed: 99 &+ UInt64(cycle) &* 0x9E37_79B9, powerOnAt: t)
            let start = t
            var failedAt: UInt64?
            while failedAt == nil {
                _ = fw.service(now: t)
                if fw.receive(ArraySlice(Self.message), now: t).contains(.kernel(level: 3, text: EchoFirmware.kickFailure)) {
                    failedAt = t
                }
                _ = fw.service(now: t)
                t += 10 * Self.ms
            }
            ttf.append(Double(failedAt! - start) / 1e9)
            t += 1_000 * Self.ms  // off time
        }
        let n = Double(ttf.count)
        let mean = ttf.reduce(0, +) / n
        // 2n * mean / mtbf follows chi-square with 2n degrees of freedom (Wilson-Hilferty quantiles).
        func chi2(_ p: Double, _ k: Double) -> Double {
            let z = p > 0.5 ? 1.959964 : -1.959964
            return k * pow(1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot(), 3)
        }
        let lower = 2 * n * mean / chi2(0.975, 2 * n)
        let upper = 2 * n * mean / chi2(0.025, 2 * n)
        #expect(lower <= mtbf && mtbf <= upper, "mean TTF \(mean) s, 95% CI [\(lower), \(upper)]")
        // Observed within one send period of the fault time: quantisation adds at most 10 ms.
        #expect(ttf.allSatisfy { $0 > 0 })
    }

    @Test func faultListParsesAndNamesWhatIsWrong() throws {
        let specs = try FaultSpec.parseList("kick-halt:mtbf=20s, hangup:mtbf=1m:down=3s")
        #expect(specs == [FaultSpec(kind: .kickHalt, mtbf: .seconds(20)), FaultSpec(kind: .hangup, mtbf: .seconds(60), down: .seconds(3))])
        #expect { _ = try FaultSpec.parseList("kick:mtbf=2s") } throws: { "\($0)".contains("unknown fault 'kick'") }
        #expect { _ = try FaultSpec.parseList("drop") } throws: { "\($0)".contains("mtbf is missing") }
        #expect { _ = try FaultSpec.parseList("kick-halt:mtbf=10") } throws: { "\($0)".contains("a bare 20 could be ms or s") }
    }
}
