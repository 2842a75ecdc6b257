import Foundation

/// The load a profile asks for, and whether the link can carry it. By Little's law the messages
/// in flight are the rate times the round trip: a window of `w` carries at most `w / round trip`
/// messages a second, and a firmware that serves one message at a time (the NXP echo demo prints
/// a UART line for each) at most `1 / service time`, whatever the window.
public enum OfferedLoad {
    /// Messages per second a phase asks for: its rate, or its bursts' count per period; nil for
    /// `rate: max` (as fast as the window allows: nothing to fall short of).
    public static func askedRate(_ p: Phase) -> Double? {
        if let b = p.burst, b.every.nanoseconds > 0 { return Double(b.count) * 1e9 / Double(b.every.nanoseconds) }
        if case .perSecond(let r) = p.rate { return r }
        return nil
    }

    /// The mean frame a phase sends (`size` is the frame: header and payload): what sets the
    /// rate a board that serves one message at a time can keep up.
    public static func meanFrame(_ p: Phase) -> Int {
        switch p.size {
        case .fixed(let n): return n
        case .list(let sizes): return sizes.isEmpty ? 0 : sizes.reduce(0, +) / sizes.count
        case .uniform(let lo, let hi): return (lo + hi) / 2
        case .sweep(let from, let to, _): return (from + to) / 2
        }
    }

    /// The characters of the line the simulated M7 prints for a frame: `Get Message From Master
    /// Side : "..." [len : N]` with the frame up to its first NUL (binary payloads: the expected
    /// run of random bytes before a zero one).
    static func simulatedLine(frame: Int, payload: PayloadEncoding) -> Int {
        let shown: Int
        switch payload {
        case .printable: shown = frame
        case .binary:
            let n = Double(max(0, frame - FrameCodec.headerSize))
            shown = FrameCodec.headerSize + Int((255 * (1 - pow(255.0 / 256, n))).rounded())
        }
        // `Get Message From Master Side : "` (32), the text, `" [len : ` (9), the length, `]\r\n` (3).
        return 44 + shown + String(frame).count
    }

    /// The simulated M7's time per message: it prints its line at `uart_baud` (8N1) before it
    /// echoes (0 baud: printing is free).
    public static func simulatedServiceSeconds(frame: Int, payload: PayloadEncoding = .printable, uartBaud: Int) -> Double {
        guard uartBaud > 0 else { return 0 }
        return Double(simulatedLine(frame: frame, payload: payload) * 10) / Double(uartBaud)
    }

    /// What `check` says about each phase with an asked rate: a warning when the round trip
    /// (`roundTrip`, seconds: measured, or the simulator's) or the board's service time cannot
    /// carry it, with the window that would; else a note of the round trip the window needs.
    public static func problems(_ profile: Profile, board: BoardConfig, roundTrip: Double?) -> (warnings: [String], notes: [String]) {
        var warnings: [String] = []
        var notes: [String] = []
        for p in profile.phases {
            guard let rate = askedRate(p), rate > 0 else { continue }
            let rateText = format(rate)
            let frame = meanFrame(p)
            let baud = (board.simulator ?? .default).uartBaud
            let service = board.isSimulated ? simulatedServiceSeconds(frame: frame, payload: p.payload, uartBaud: baud) : nil
            if let s = service, s > 0, rate * s > 1 {
                warnings.append("phase \(p.name): \(rateText)/s cannot be reached on the simulated board at any window: its M7 prints a "
                    + "\(simulatedLine(frame: frame, payload: p.payload))-character UART line for each \(frame)-byte message\(isFixed(p.size) ? "" : " (the mean)") at \(baud) baud, "
                    + "\(ms(s)) each, so at most \(format(1 / s))/s (lower the rate, or set the board file's simulator.uart_baud higher, up to 4000000)")
                continue
            }
            let rtt = roundTrip ?? service.map { $0 + 0.000_2 }
            if let rtt, rtt > 0 {
                let carried = Double(p.window) / rtt
                if carried < rate {
                    let needed = Int((rate * rtt * 1.25).rounded(.up))
                    warnings.append("phase \(p.name): \(rateText)/s at window \(p.window) needs a round trip under \(ms(Double(p.window) / rate)); "
                        + "it is about \(ms(rtt))\(roundTrip == nil ? " on the simulated board" : ""), so at most \(format(carried))/s "
                        + "(Little's law: messages in flight = rate x round trip); window \(needed) would carry it")
                }
            } else {
                notes.append("phase \(p.name): \(rateText)/s at window \(p.window) needs round trips under \(ms(Double(p.window) / rate)) "
                    + "(Little's law); the run fails min_rate_ratio when it falls short (give a measured round trip with --round-trip)")
            }
        }
        return (warnings, notes)
    }

    static func isFixed(_ s: SizeSpec) -> Bool {
        if case .fixed = s { return true }
        return false
    }

    static func format(_ v: Double) -> String {
        v >= 100 || v == v.rounded() ? String(Int(v.rounded())) : String(format: "%.1f", v)
    }

    static func ms(_ seconds: Double) -> String {
        seconds >= 1 ? String(format: "%.2f s", seconds) : seconds >= 0.001 ? String(format: "%.1f ms", seconds * 1000)
            : String(format: "%.0f us", seconds * 1e6)
    }
}
