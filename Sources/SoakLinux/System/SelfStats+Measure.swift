import Glibc
import SoakCore

extension SelfStats {
    /// This process, now. One system call per part: free to take.
    public static func measure() -> SelfStats {
        var me = rusage(), kids = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &me)
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &kids)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        var s = SelfStats(userSeconds: seconds(me.ru_utime), systemSeconds: seconds(me.ru_stime),
                          voluntaryContextSwitches: UInt64(max(0, me.ru_nvcsw)), involuntaryContextSwitches: UInt64(max(0, me.ru_nivcsw)),
                          peakRssBytes: UInt64(max(0, me.ru_maxrss)) * 1024)
        let cu = seconds(kids.ru_utime), cs = seconds(kids.ru_stime)
        if cu + cs > 0 { s.childrenUserSeconds = cu; s.childrenSystemSeconds = cs }
        return s
    }
}
