import Foundation

/// The one place that stamps events with the run's time and puts them on the timeline; every
/// action on the hardware (power off and on, remoteproc, reopen, setup commands) goes through
/// `action`, which records it with its duration and a typed outcome, like labgrid's `@step`.
public final class TimelineRecorder {
    public let sink: EventSink
    public let clock: SoakClock
    public let runStartMono: UInt64
    public let runStartWall: Date

    public init(sink: EventSink, clock: SoakClock, runStartMono: UInt64, runStartWall: Date) {
        self.sink = sink
        self.clock = clock
        self.runStartMono = runStartMono
        self.runStartWall = runStartWall
    }

    public func event(_ kind: Event.Kind, at mono: UInt64, message: String? = nil) -> Event {
        let seconds = Double(Int64(bitPattern: mono &- runStartMono)) / 1e9
        return Event(t: seconds, wall: WallTime.iso8601(runStartWall.addingTimeInterval(seconds)), type: kind, message: message)
    }

    public func emit(_ event: Event) { sink.emit(event) }

    /// Runs one action on the hardware and records it: `power off: succeeded (0.012 s)`.
    public func action<T>(_ name: String, _ body: () throws(RecoveryFailure) -> T) throws(RecoveryFailure) -> T {
        let started = clock.now()
        do {
            let result = try body()
            record(ActionRecord(name: name, outcome: .succeeded, seconds: seconds(since: started), detail: nil))
            return result
        } catch {
            record(ActionRecord(name: name, outcome: .failed, seconds: seconds(since: started), detail: error.reason))
            throw error
        }
    }

    /// An action that could not be done at all, with the reason.
    public func skipped(_ name: String, because reason: String) {
        record(ActionRecord(name: name, outcome: .skipped, seconds: 0, detail: reason))
    }

    private func record(_ a: ActionRecord) {
        let text = "\(a.name): \(a.outcome.rawValue)" + (a.detail.map { " (\($0))" } ?? "") + String(format: " in %.3f s", a.seconds)
        var e = event(.action, at: clock.now(), message: text)
        e.action = a
        sink.emit(e)
    }

    private func seconds(since start: UInt64) -> Double { Double(clock.now() &- start) / 1e9 }
}

/// One action on the hardware, on the timeline.
public struct ActionRecord: Codable, Sendable, Equatable {
    public var name: String
    public var outcome: RecoveryRecord.Outcome
    public var seconds: Double
    public var detail: String?
}
