import Foundation
import SoakCore

/// The load each phase asked for against what it sent: the `min_rate_ratio` criterion. A run
/// whose window or board cannot carry the rate fails it instead of passing at a lower load.
enum OfferedRates {
    /// Phases shorter than this (soaked) are not judged: too little to say.
    static let shortest = 1.0

    /// Fills each phase's asked rate, soaked time (its span, at most its duration, without the
    /// time the link was down or the run stopped) and achieved rate.
    static func fill(_ phases: inout [PhaseSummary], indexes: [Int], profile: Profile,
                     downs: [(from: Double, to: Double)], endSeconds: Double) {
        for i in phases.indices {
            let index = i < indexes.count ? indexes[i] : i
            guard index < profile.phases.count else { continue }
            let phase = profile.phases[index]
            let start = phases[i].startSeconds
            let end = i + 1 < phases.count ? phases[i + 1].startSeconds : endSeconds
            let down = downs.reduce(0.0) { $0 + max(0, min($1.to, end) - max($1.from, start)) }
            let soaked = max(0, min(end - start - down, Double(phase.duration.nanoseconds) / 1e9))
            phases[i].soakedSeconds = soaked
            guard let asked = OfferedLoad.askedRate(phase) else { continue }
            phases[i].askedRate = asked
            phases[i].achievedRate = soaked > 0 ? Double(phases[i].totals.sent) / soaked : 0
        }
    }

    /// Why a phase fell short, when the figures say: the simulated M7's UART printing, or a
    /// window that the measured round trip (p50) cannot carry (Little's law).
    static func why(_ p: PhaseSummary, profile: Profile, board: BoardConfig) -> String? {
        guard let phase = profile.phases.first(where: { $0.name == p.name }) else { return nil }
        if board.isSimulated {
            let service = OfferedLoad.simulatedServiceSeconds(frame: OfferedLoad.meanFrame(phase), payload: phase.payload,
                                                              uartBaud: (board.simulator ?? .default).uartBaud)
            if service > 0, let asked = p.askedRate, asked * service > 1 {
                return "the simulated M7 prints a UART line per message at \((board.simulator ?? .default).uartBaud) baud: at most \(rate(1 / service))/s"
            }
        }
        if let p50 = p.latencyMicros?.p50, p50 > 0 {
            let carried = Double(phase.window) * 1e6 / Double(p50)
            if let asked = p.askedRate, carried < asked {
                return "window \(phase.window) at a round trip of \(CriteriaCheck.formatMicros(p50)) (p50) carries at most \(rate(carried))/s (Little's law)"
            }
        }
        return nil
    }

    static func criterion(_ phases: [PhaseSummary], ratio: Double, why: (PhaseSummary) -> String? = { _ in nil }) -> CriterionResult {
        let judged = phases.filter { $0.askedRate != nil && ($0.soakedSeconds ?? 0) >= shortest }
        let limit = ">= \(percent(ratio)) of the asked rate"
        guard !judged.isEmpty else {
            return CriterionResult(name: "min_rate_ratio", limit: limit, observed: "-", passed: true,
                                   message: "no phase with a rate soaked \(Int(shortest)) s or more")
        }
        func share(_ p: PhaseSummary) -> Double { (p.achievedRate ?? 0) / max(p.askedRate ?? 1, 1e-9) }
        let short = judged.filter { share($0) < ratio }
        let worst = judged.min { share($0) < share($1) }!
        let text = { (p: PhaseSummary) in "\(p.name) \(rate(p.achievedRate ?? 0))/s of \(rate(p.askedRate ?? 0))/s" }
        if short.isEmpty {
            return CriterionResult(name: "min_rate_ratio", limit: limit, observed: percent(share(worst)), passed: true,
                                   message: "every phase sent what it asked for (lowest: \(text(worst)))")
        }
        return CriterionResult(name: "min_rate_ratio", limit: limit, observed: percent(share(worst)), passed: false,
                               message: short.map { p in "\(text(p)) (\(percent(share(p))))" + (why(p).map { ": \($0)" } ?? "") }.joined(separator: "; ")
                                   + "; the load asked for was not offered"
                                   + (short.contains { why($0) == nil } ? " (a window too small for the round trip, or a board slower than the rate)" : ""))
    }

    static func percent(_ v: Double) -> String { "\(Int((v * 100 + 1e-9).rounded(.down)))%" }
    static func rate(_ v: Double) -> String { v >= 100 || v == v.rounded() ? String(Int(v.rounded())) : String(format: "%.1f", v) }
}
