import Foundation
import SoakCore

/// Runs a board's setup commands (`modprobe imx_rpmsg_tty`, ...) through /bin/sh with a deadline.
public enum SetupCommands {
    public struct Failure: Error, CustomStringConvertible {
        public init(command: String, reason: String, what: String = "setup command") {
            self.command = command; self.reason = reason; self.what = what
        }
        public var command: String
        public var reason: String
        /// What the command is for: `setup command`, `power on command`.
        public var what: String
        public var description: String { "\(what) '\(command)': \(reason)" }
    }

    /// `environment` is added to the tester's own (the simulated board's folder, for example).
    public static func run(_ commands: [String], timeout: SoakDuration, environment: [String: String] = [:],
                           what: String = "setup command") throws(Failure) {
        do {
            try run(commands, timeout: timeout, environment: environment) { ("/bin/sh", ["-c", $0]) }
        } catch {
            throw Failure(command: error.command, reason: error.reason, what: what)
        }
    }

    /// Runs each command as the program and arguments `invocation` makes of it (ssh to the
    /// board, for one reached over ssh).
    static func run(_ commands: [String], timeout: SoakDuration, environment: [String: String] = [:],
                    invocation: (String) -> (String, [String])) throws(Failure) {
        for command in commands {
            let p = Process()
            let (executable, arguments) = invocation(command)
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            if !environment.isEmpty {
                p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            let errPipe = Pipe()
            p.standardError = errPipe
            p.standardOutput = FileHandle.nullDevice
            do { try p.run() } catch { throw Failure(command: command, reason: "cannot start: \(ErrorText.describe(error))") }
            let deadline = MonotonicClock.read() &+ timeout.nanoseconds
            while p.isRunning {
                if MonotonicClock.read() >= deadline {
                    p.terminate()
                    throw Failure(command: command, reason: "still running after \(timeout); stopped")
                }
                usleep(10_000)
            }
            if p.terminationStatus != 0 {
                let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                throw Failure(command: command, reason: "exit status \(p.terminationStatus)\(err.isEmpty ? "" : ": \(err)")")
            }
        }
    }
}
