import Foundation
import SoakCore
import SoakReports

/// `rpmsg-soak run --lava`: after the reports are written, every JUnit test case and the
/// measurements go to LAVA through `lava-test-case` (LavaTestCases says which). LAVA is told, the
/// run is not judged again: a missing `lava-test-case` is said once on stderr and a failing call
/// is a warning; the exit status stays the run's.
enum LavaReporter {
    static func report(_ summary: RunSummary) {
        guard let program = findOnPath(LavaTestCases.program) else {
            warn("\(LavaTestCases.program) is not on PATH: the results are not reported to LAVA (junit.xml and summary.json hold them)")
            return
        }
        for arguments in LavaTestCases.calls(summary) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = arguments
            p.standardInput = FileHandle.nullDevice
            do {
                try p.run()
                p.waitUntilExit()
                if p.terminationReason != .exit || p.terminationStatus != 0 {
                    warn("warning: \(LavaTestCases.program) \(arguments.joined(separator: " ")): "
                         + (p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus)"))
                }
            } catch {
                warn("warning: cannot run \(program): \(ErrorText.describe(error))")
            }
        }
    }

    /// The first executable `name` in $PATH's folders.
    static func findOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private static func warn(_ text: String) {
        FileHandle.standardError.write(Data("rpmsg-soak: \(text)\n".utf8))
    }
}
