import Foundation

/// Two Poisson rates compared exactly: is the current run's failure rate higher than the baseline's?
public enum RateComparison {
    /// One-sided p-value of "the current rate is no higher than the baseline's", from `current`
    /// events in exposure `currentExposure` and `baseline` events in `baselineExposure` (uptime
    /// seconds, or messages). Conditional binomial test: given n = current + baseline events,
    /// under equal rates the current count is Binomial(n, T_cur / (T_cur + T_base)); the p-value
    /// is P(X >= current). 1 when there is nothing to compare (no events, or no exposure).
    public static func pValue(current: UInt64, currentExposure: Double, baseline: UInt64, baselineExposure: Double) -> Double {
        guard currentExposure > 0, baselineExposure > 0, current > 0 else { return 1 }
        let p = currentExposure / (currentExposure + baselineExposure)
        return binomialUpperTail(atLeast: current, trials: current + baseline, p: p)
    }

    /// P(X >= k) for X ~ Binomial(n, p), summed term by term in logs (stable for n in the millions).
    public static func binomialUpperTail(atLeast k: UInt64, trials n: UInt64, p: Double) -> Double {
        if k == 0 { return 1 }
        if k > n { return 0 }
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        let lp = log(p), lq = log1p(-p)
        let nn = Double(n), kk = Double(k)
        // log of the first term, C(n, k) p^k q^(n-k), with log C(n, k) summed factor by factor.
        var logC = 0.0
        var i = 1.0
        while i <= kk {
            logC += log((nn - kk + i) / i)
            i += 1
        }
        var lt = logC + kk * lp + (nn - kk) * lq
        var sum = 0.0
        var largest = -Double.infinity
        var x = kk
        while x <= nn {
            largest = max(largest, lt)
            sum += exp(lt)
            // Terms fall off geometrically past the mode: stop once they no longer count.
            if lt < largest - 40 && x > nn * p { break }
            // term(x+1) = term(x) * (n-x)/(x+1) * p/q
            lt += log((nn - x) / (x + 1)) + lp - lq
            x += 1
        }
        return min(1, sum)
    }
}
