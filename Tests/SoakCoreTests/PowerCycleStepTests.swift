import Foundation
import Testing
@testable import SoakCore

/// The power-cycle step on virtual time, with recording mocks for the switch and for an opener
/// that must wait for the board to answer (a board over ssh): the real opener is proven against
/// a real sshd in EndToEndTests/SshRecoveryTests.
@Suite("PowerCycleStep (recording mocks, virtual time)")
struct PowerCycleStepTests {
    /// Lets virtual time pass to the deadline at once.
    final class JumpingWaiter: Waiter {
        let clock: ManualClock
        init(clock: ManualClock) { self.clock = clock }
        func wait(until deadline: UInt64) { clock.advance(to: deadline) }
    }

    /// An opener whose board answers after `answersAfter` and whose tty opens at once; it
    /// records what it was asked, in order, with the time it was given.
    final class ReachableOpenerMock: LinkOpener {
        let clock: ManualClock
        let answersAfter: SoakDuration
        var log: [String] = []
        var description: String { "board over a network (mock)" }
        var reachability: String? { "the board to answer (mock)" }
        init(clock: ManualClock, answersAfter: SoakDuration) { self.clock = clock; self.answersAfter = answersAfter }

        func awaitReachable(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) {
            log.append("await \(timeout)")
            guard answersAfter <= timeout else {
                clock.advance(timeout)
                throw LinkOpenError(device: description, reason: "no answer (waited \(timeout))")
            }
            clock.advance(answersAfter)
        }

        func open(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) -> Link {
            log.append("open \(timeout)")
            throw LinkOpenError(device: description, reason: "the mock opens nothing")
        }
    }

    func perform(_ opener: ReachableOpenerMock, clock: ManualClock, setup: (() throws -> Void)?) -> (RecoveryFailure?, [Event]) {
        let sink = MemoryEventSink()
        var policy = RecoveryPolicy.default
        policy.bootTimeout = .seconds(60)
        let context = RecoveryContext(policy: policy, clock: clock, waiter: JumpingWaiter(clock: clock),
                                      recorder: TimelineRecorder(sink: sink, clock: clock, runStartMono: 0, runStartWall: Date()),
                                      interrupted: { false })
        let step = PowerCycleStep(power: PowerControl(RecordingPowerSwitchMock(), onExit: .on, knownOn: true),
                                  offTime: .seconds(1), settleTime: nil, opener: opener, setup: setup)
        do throws(RecoveryFailure) {
            _ = try step.perform(context)
            return (nil, sink.events)
        } catch {
            return (error, sink.events)
        }
    }

    @Test("after power-on: wait for the board to answer, then its setup, then the tty, all in one boot_timeout")
    func orderAndBudget() {
        let clock = ManualClock()
        let opener = ReachableOpenerMock(clock: clock, answersAfter: .seconds(20))
        var setupAt: UInt64?
        let (failure, events) = perform(opener, clock: clock, setup: {
            setupAt = clock.now()
            clock.advance(.seconds(5))
        })
        #expect(failure?.reason.contains("the mock opens nothing") == true)
        // The tty gets what is left of 60 s: 20 s went to the answer, 5 s to the setup.
        #expect(opener.log == ["await 1m", "open 35s"], "\(opener.log)")
        #expect(setupAt != nil)
        let actions = events.compactMap(\.action).map(\.name)
        #expect(actions == ["power off (recording mock)", "power on (recording mock)", "wait for the board to answer (mock)",
                            "setup commands", "open board over a network (mock)"], "\(actions)")
    }

    @Test("a board that never answers fails the step before its setup runs, saying why")
    func neverAnswers() {
        let clock = ManualClock()
        let opener = ReachableOpenerMock(clock: clock, answersAfter: .seconds(600))
        var setupRan = false
        let (failure, events) = perform(opener, clock: clock, setup: { setupRan = true })
        #expect(failure?.reason.contains("no answer (waited 1m)") == true, "\(String(describing: failure))")
        #expect(!setupRan && opener.log == ["await 1m"])
        #expect(events.compactMap(\.action).last?.outcome == .failed)
    }
}
