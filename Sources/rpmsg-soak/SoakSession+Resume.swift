import Foundation
import SoakCore
import SoakLinux
import SoakReports

/// `run --resume`: the same run goes on in its own folder.
extension SoakSession {
    /// The same run goes on in `folder`: its timeline continues with a `resumed` event at the
    /// run time the wall clock says (the gap shows as a gap), counts and phase from the stop.
    /// `seen`: the timeline so far, folded for the live figures in the pass that found `point`.
    func resumeRun(_ folder: String, _ point: ResumePoint, seen: ProgressLine, live: LiveOutput) -> Int32 {
        let path = "\(folder)/\(RunFolder.timelineName)"
        let torn = RunFolder.dropTornLastLine(path: path)
        let timeline: TimelineWriter
        do {
            timeline = try TimelineWriter(path: path, syncInterval: plan.profile.timelineSync ?? Profile.defaultTimelineSync)
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak: --resume \(folder): cannot append to its timeline: \(ErrorText.reason(error))\n".utf8))
            return 2
        }
        print("run folder: \(folder)")
        fflush(nil)
        let at = point.resumeAt(wallNow: Date())
        // The run's own start, moved back on this machine's monotonic clock (which restarted
        // at a reboot): differences wrap consistently, so every `t` continues the run's.
        let monoStart = MonotonicClock.read() &- UInt64(at * 1e9)
        let gap = at - point.stoppedAt
        var e = Event(t: at, wall: WallTime.iso8601(point.startWall.addingTimeInterval(at)), type: .resumed,
                      message: "resumed after a gap of " + String(format: "%.1f s", gap) + ": the run had stopped at "
                          + String(format: "%.1f s", point.stoppedAt) + " (\(point.stop.rawValue)); phase \(plan.profile.phases[point.phaseIndex].name) goes on with "
                          + String(format: "%.1f s", max(0, Double(plan.profile.phases[point.phaseIndex].duration.nanoseconds) / 1e9 - point.soakedInPhase)) + " left"
                          + (torn ? "; the torn last line of the timeline was dropped" : ""))
        e.resumed = ResumeMark(stop: point.stop, stoppedAtSeconds: point.stoppedAt, gapSeconds: gap, countsAtSeconds: point.countsAt)
        timeline.emit(e)
        timeline.sync()
        if !quiet { print("[\(ProgressLine.clock(at))] \(e.message ?? "resumed")") }
        // The figures (console, status line, metrics) go on from the run's own events: those
        // folded when the timeline was read for `point`, then the `resumed` event.
        live.begin([e], after: seen)
        let farm = FarmPlace(board: plan.board, reserve: nil)
        return soakAndReport(farm: farm, folder: folder, timeline: timeline, monoStart: monoStart, wallStart: point.startWall, live: live)
    }
}
