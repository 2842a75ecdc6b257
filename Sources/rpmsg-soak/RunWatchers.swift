import BoardSimulator
import Foundation
import Glibc
import SoakCore
import SoakLinux
import SoakReports

/// The M7 UART and kernel-log readers of a run, with the logs they feed (uart.log, kernel.log).
/// The parts themselves come from BoardParts; SoakSession owns their lifetimes.
extension SoakSession {
    /// Starts the M7 UART and kernel-log readers the board file names (for the simulated
    /// board: its UART pty and its kernel log file under `sim/` in the run folder).
    func startWatchers(_ parts: BoardParts, folder: String, monoStart: UInt64, timeline: TimelineWriter, wallStart: Date)
        -> (sources: [LineSource], runnerWatch: SoakRunner.Watch, logs: [LineLog]) {
        let inbox = LineInbox()
        let board = plan.board
        let sources = parts.lineSources { text in
            Warnings.write(text)
            var e = event(.warning, monoStart: monoStart, wallStart: wallStart, message: text)
            e.message = text
            timeline.emit(e)
        }
        for source in sources { source.start(into: inbox) }
        let uartLog = LineLog(path: "\(folder)/uart.log", startMono: monoStart)
        let kernelLog = LineLog(path: "\(folder)/kernel.log", startMono: monoStart)
        var watch = SoakRunner.Watch(inbox: inbox, uartWatched: sources.contains { $0.source == .uart },
                                     kernelWatched: sources.contains { $0.source == .kernel }, ready: parts.readyLine,
                                     readyTimeout: board.uart?.readyTimeout ?? .seconds(30),
                                     recordNotice: { source, text, at in (source == .uart ? uartLog : kernelLog).append(note: text, at: at) },
                                     flush: { uartLog.flush(); kernelLog.flush() },
                                     record: { line in (line.source == .uart ? uartLog : kernelLog).append(line) })
        watch.stopSources = { for source in sources { source.stop() } }
        return (sources, watch, [uartLog, kernelLog])
    }
}
