import Glibc
import SoakCore

extension SelfStats {
    /// The children's CPU when this process began its run: a program started by a script that
    /// first built it (`scripts/rpmsg-soak` runs `swift build`, then execs the tester) inherits
    /// the build's CPU in RUSAGE_CHILDREN. `measure()` counts only what came after.
    nonisolated(unsafe) static var childrenBefore: (user: Double, system: Double) = (0, 0)
    private static let baseline: Void = {
        var kids = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &kids)
        childrenBefore = (Double(kids.ru_utime.tv_sec) + Double(kids.ru_utime.tv_usec) / 1e6,
                          Double(kids.ru_stime.tv_sec) + Double(kids.ru_stime.tv_usec) / 1e6)
    }()

    /// Takes the children's CPU so far as the baseline (call at the run's start).
    public static func startCounting() { _ = baseline }

    /// This process, now. One system call per part: free to take.
    public static func measure() -> SelfStats {
        var me = rusage(), kids = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &me)
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &kids)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        var s = SelfStats(userSeconds: seconds(me.ru_utime), systemSeconds: seconds(me.ru_stime),
                          voluntaryContextSwitches: UInt64(max(0, me.ru_nvcsw)), involuntaryContextSwitches: UInt64(max(0, me.ru_nivcsw)),
                          peakRssBytes: UInt64(max(0, me.ru_maxrss)) * 1024)
        _ = baseline
        let cu = max(0, seconds(kids.ru_utime) - childrenBefore.user), cs = max(0, seconds(kids.ru_stime) - childrenBefore.system)
        if cu + cs > 0 { s.childrenUserSeconds = cu; s.childrenSystemSeconds = cs }
        return s
    }
}
