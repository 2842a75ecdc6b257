import Testing
@testable import SoakCore

@Suite("LinkHealth")
struct LinkHealthTests {
    let t0: UInt64 = 1 * sec
    let hang: UInt64 = 5 * sec

    @Test("nothing sent: never hung")
    func idle() {
        let h = LinkHealth(hangTimeout: .seconds(5))
        #expect(!h.isHung(now: t0))
        #expect(!h.isHung(now: t0 + 1_000 * sec))
        #expect(h.deadline == nil)
    }

    @Test("hung exactly hangTimeout after the first unanswered send")
    func hungAtTimeout() {
        var h = LinkHealth(hangTimeout: .seconds(5))
        h.sent(at: t0)
        h.sent(at: t0 + 2 * sec)  // a later send does not restart the wait
        #expect(h.deadline == t0 + hang)
        #expect(!h.isHung(now: t0 + hang - 1))
        #expect(h.isHung(now: t0 + hang))
        #expect(h.isHung(now: t0 + hang + 1 * sec))
    }

    @Test("an echo with messages still outstanding restarts the wait")
    func echoRestartsWait() {
        var h = LinkHealth(hangTimeout: .seconds(5))
        h.sent(at: t0)
        let echoAt = t0 + 4 * sec
        h.echoed(at: echoAt, stillOutstanding: 3)
        #expect(h.lastEchoAt == echoAt)
        #expect(!h.isHung(now: t0 + hang))
        #expect(!h.isHung(now: echoAt + hang - 1))
        #expect(h.isHung(now: echoAt + hang))
    }

    @Test("an echo leaving nothing outstanding ends the wait; the next send starts a new one")
    func echoClearsWait() {
        var h = LinkHealth(hangTimeout: .seconds(5))
        h.sent(at: t0)
        h.echoed(at: t0 + 1 * sec, stillOutstanding: 0)
        #expect(h.deadline == nil)
        #expect(!h.isHung(now: t0 + 100 * sec))
        h.sent(at: t0 + 50 * sec)
        #expect(!h.isHung(now: t0 + 55 * sec - 1))
        #expect(h.isHung(now: t0 + 55 * sec))
    }

    @Test("losses do not reset the wait: only an echo does")
    func lossesDoNotReset() {
        var h = LinkHealth(hangTimeout: .seconds(5))
        var v = EchoVerifier(lossTimeout: .seconds(1))
        // Messages go out every 500 ms and none comes back; the verifier counts them lost.
        var t = t0
        while t < t0 + hang {
            v.registerSent(length: 64, at: t)
            h.sent(at: t)
            v.expire(now: t)
            #expect(!h.isHung(now: t))
            t += 500 * ms
        }
        #expect(v.counters.lost > 0)
        #expect(h.isHung(now: t0 + hang))
    }

    @Test("reset after a failure: nothing waits until the next send")
    func resetClears() {
        var h = LinkHealth(hangTimeout: .seconds(5))
        h.sent(at: t0)
        #expect(h.isHung(now: t0 + hang))
        h.reset()
        #expect(!h.isHung(now: t0 + 2 * hang))
    }
}
