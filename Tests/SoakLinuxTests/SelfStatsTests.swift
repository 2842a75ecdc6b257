import SoakCore
import SoakLinux
import Testing

@Suite struct SelfStatsTests {
    @Test("measure() reads this process: some CPU, a resident size")
    func measure() {
        let s = SelfStats.measure()
        #expect(s.userSeconds + s.systemSeconds > 0)
        #expect(s.peakRssBytes > 1_000_000)
    }
}
