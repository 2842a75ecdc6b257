import Foundation
import TestSupport
import Testing

/// Runs the built `rpmsg-soak` binary as a user would and reads what it left behind.
enum Harness {
    /// The package root, from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The binary next to the test bundle (swift test builds it), or RPMSG_SOAK_BIN.
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["RPMSG_SOAK_BIN"] { return env }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [here, here.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("rpmsg-soak").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return packageRoot.appendingPathComponent(".build/debug/rpmsg-soak").path
    }

    static func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")?.path
            ?? packageRoot.appendingPathComponent("Tests/EndToEndTests/Fixtures/\(name)").path
    }

    /// One folder per test process, under which every test makes its own. Folders of earlier
    /// test processes are removed: the newest stays for a person to look at after a failure.
    static let tempRoot: String = {
        let tmp = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix("rpmsg-soak-tests-") {
            if let pid = Int32(name.dropFirst("rpmsg-soak-tests-".count)), pid != getpid(), kill(pid, 0) != 0 {
                try? FileManager.default.removeItem(atPath: "\(tmp)/\(name)")
            }
        }
        return "\(tmp)/rpmsg-soak-tests-\(getpid())"
    }()

    static func tempDir() -> String {
        let dir = "\(tempRoot)/e2e-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The run folder the binary announced on its first line.
        var runFolder: String? {
            stdout.split(separator: "\n").first { $0.hasPrefix("run folder: ") }.map { String($0.dropFirst("run folder: ".count)) }
        }
        func summary() throws -> [String: Any] {
            let folder = try #require(runFolder, "no run folder in output: \(stdout) \(stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/summary.json"))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        func totals() throws -> [String: Int] {
            try #require(try summary()["totals"] as? [String: Int])
        }
    }

    /// A started binary. Output goes to files, not pipes: a pipe's write end leaks into any
    /// process spawned at the same moment by a test running in parallel, and then EOF never comes.
    struct Started: Sendable {
        var process: Process
        var exit: ExitSignal
        var outPath: String
        var errPath: String
        var processIdentifier: Int32 { process.processIdentifier }
        func terminate() { process.terminate() }
        /// What the binary has printed so far.
        var stdoutSoFar: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        /// The run folder announced on the first line, once it is.
        var runFolderSoFar: String? { Result(status: 0, stdout: stdoutSoFar, stderr: "").runFolder }
        /// How many interval snapshots the run's timeline holds so far.
        var intervalsSoFar: Int {
            guard let folder = runFolderSoFar,
                  let events = try? String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8) else { return 0 }
            return events.components(separatedBy: "\"type\":\"interval\"").count - 1
        }
    }

    /// At most this many binaries run at once. The suite runs on a 2-core machine and the soaks
    /// have timing criteria (a hang is 1.5 s without an echo, latency_p99 1 s): more at once
    /// and a run could fail only because the machine was busy. At least 4: three suites
    /// (SimCommandTests, KmsgInjectTests, SshLinkTests, each serialized) can each hold a
    /// simulator while its soak waits for a slot.
    static let concurrentBinaries = 4
    static let slots = AsyncSemaphore(concurrentBinaries)

    /// Starts the binary once a slot is free; `finish` waits for it. The slot is given back
    /// when the process ends, however the test ends.
    /// `environment` is added to the test process's own (PATH is then the given one).
    static func start(_ args: [String], cwd: String? = nil, environment: [String: String] = [:]) async throws -> Started {
        // A slot not free for this long means the holders wait for each other (each holds a
        // simulator and waits for a slot for its soak): fail the test rather than hang the suite.
        guard await slots.acquire(within: 600) else {
            throw HarnessError(message: "no binary slot free for 600 s: all \(concurrentBinaries) are held, probably by simulators whose soaks wait for a slot (start simulators in-process, see LabHostRecoveryTests.startSim)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? packageRoot.path)
        let base = tempDir()
        let outPath = "\(base)/stdout", errPath = "\(base)/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardInput = FileHandle.nullDevice
        // Set before run(): a binary that exits at once is never missed.
        let exit = ExitSignal()
        p.terminationHandler = { _ in
            exit.fire()
            Task { await slots.release() }
        }
        do {
            try p.run()
        } catch {
            await slots.release()
            throw error
        }
        return Started(process: p, exit: exit, outPath: outPath, errPath: errPath)
    }

    /// Waits for the binary to end without holding a thread of the test pool.
    static func finish(_ s: Started) async -> Result {
        await s.exit.wait()
        return collect(s)
    }

    /// For a `defer`: kills the binary (SIGKILL, see `stop`) and waits, which is then at once.
    static func kill9(_ s: Started) {
        if s.process.isRunning { kill(s.processIdentifier, SIGKILL) }
        s.process.waitUntilExit()
    }

    private static func collect(_ s: Started) -> Result {
        let o = (try? String(contentsOfFile: s.outPath, encoding: .utf8)) ?? ""
        let e = (try? String(contentsOfFile: s.errPath, encoding: .utf8)) ?? ""
        return Result(status: s.process.terminationStatus, stdout: o, stderr: e)
    }

    static func run(_ args: [String], cwd: String? = nil, environment: [String: String] = [:]) async throws -> Result {
        await finish(try await start(args, cwd: cwd, environment: environment))
    }

    /// Runs a helper program (socat, python3) in the background until `stop`.
    static func background(_ executable: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// SIGKILL: a child of the test runner inherits its blocked-signal mask, in which SIGTERM
    /// is blocked, so terminate() would not end it.
    static func stop(_ p: Process) {
        let pid = p.processIdentifier
        if p.isRunning { kill(pid, SIGKILL) }
        // Not waitUntilExit: when Foundation's child monitoring misses the exit it spins
        // forever. Seen in CI: the killed helper a zombie never reaped, the suite stalled for
        // good. Wait for Foundation to see the exit, reaping the child ourselves if it has not.
        let deadline = Date().addingTimeInterval(30)
        while p.isRunning && Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(10_000)
        }
    }

    /// Waits until `path` exists (a device link made by a helper).
    static func waitForPath(_ path: String, seconds: Double = 10) async throws -> Bool {
        try await waitUntil(seconds: seconds) { FileManager.default.fileExists(atPath: path) }
    }

    /// Polls `condition` every 20 ms until it holds (true) or `seconds` pass (false).
    static func waitUntil(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Waits on a thread of its own until `ready` holds, then does `action` there at once, and
    /// gives its result; nil when `ready` did not hold within `seconds`. Not on the test pool:
    /// CPU-heavy unit tests can hold both of its threads for seconds, and whatever must happen
    /// while a run is still going (a kill, a power cycle, a device appearing) cannot wait that long.
    static func when<T>(seconds: Double = 30, _ ready: @escaping @Sendable () -> Bool,
                        then action: @escaping @Sendable () throws -> T?) async throws -> T? {
        try await offPool {
            let deadline = Date().addingTimeInterval(seconds)
            while !ready() {
                if Date() >= deadline { return nil }
                usleep(10_000)
            }
            return try action()
        }
    }

    /// Does `action` once a started soak's timeline holds `intervals` interval snapshots: the run
    /// is then under way, however slowly the machine started it. Gives the run folder, or nil
    /// (and no action) when that did not happen within `seconds` or the binary ended first.
    static func whenUnderWay(_ s: Started, intervals: Int, seconds: Double = 30,
                             _ action: @escaping @Sendable () throws -> Void) async throws -> String? {
        try await when(seconds: seconds, { !s.process.isRunning || s.intervalsSoFar >= intervals }) {
            guard s.process.isRunning, let folder = s.runFolderSoFar else { return nil }
            try action()
            return folder
        }
    }

    /// A board on a real tty. It does not watch this machine's kernel log (a real board's
    /// default): /dev/kmsg is shared by every test running at the same time, and KmsgInjectTests
    /// writes kick failures into it that would end this board's run.
    static func writeBoard(device: String, in dir: String) throws -> String {
        let path = "\(dir)/board.yaml"
        try "name: test-echo\nlink:\n  device: \(device)\n\(quietKernel)".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The board-file lines that keep a test board off the shared kernel log.
    static let quietKernel = "kernel_log: {source: none}\n"

    /// xmllint against the Jenkins xUnit JUnit schema; returns its complaint, or nil when valid.
    static func junitSchemaProblem(_ file: String) throws -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        p.arguments = ["--noout", "--schema", fixture("junit-10.xsd"), file]
        let errPath = "\(tempDir())/xmllint.err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? nil : ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "xmllint failed")
    }

    /// The checkout's .test-venv python (scripts/setup), for junitparser.
    static let venvPython = packageRoot.appendingPathComponent(".test-venv/bin/python3").path

    /// Whether .test-venv has junitparser, a JUnit reader CI tools use.
    static let hasJunitparser: Bool = {
        guard FileManager.default.isExecutableFile(atPath: venvPython) else { return false }
        return (try? junitparser(["-c", "import junitparser"]).status) == 0
    }()

    /// What junitparser reads in a junit.xml: a line per suite (`suite NAME tests=.. failures=..
    /// errors=.. skipped=..`), then `case NAME RESULT` per case (passed, failure, error, skipped).
    static func junitparser(_ file: String) throws -> (status: Int32, output: String) {
        try junitparser(["-c", """
        import sys
        from junitparser import JUnitXml
        for suite in JUnitXml.fromfile(sys.argv[1]):
            print(f"suite {suite.name} tests={suite.tests} failures={suite.failures} errors={suite.errors} skipped={suite.skipped}")
            for case in suite:
                kinds = [type(r).__name__.lower() for r in case.result]
                print(f"case {case.name} {kinds[0] if kinds else 'passed'}")
        """, file])
    }

    private static func junitparser(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: venvPython)
        p.arguments = args
        let outPath = "\(tempDir())/junitparser.out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = FileHandle(forWritingAtPath: outPath)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        try out?.close()
        return (p.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }
}

/// The end of a child process, as the terminationHandler reports it, for any number of waiters.
final class ExitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var exited = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func fire() {
        lock.lock()
        exited = true
        let ready = waiters
        waiters = []
        lock.unlock()
        for w in ready { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if exited {
                lock.unlock()
                c.resume()
            } else {
                waiters.append(c)
                lock.unlock()
            }
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A counting semaphore for async code: waiters are served in order.
actor AsyncSemaphore {
    private var free: Int
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextID: UInt64 = 0

    init(_ count: Int) { free = count }

    /// True once a slot is taken; false when none was free within `seconds`.
    func acquire(within seconds: Double) async -> Bool {
        if free > 0 {
            free -= 1
            return true
        }
        nextID += 1
        let id = nextID
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            self.giveUp(id)
        }
        return await withCheckedContinuation { waiters.append((id, $0)) }
    }

    private func giveUp(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(returning: false)
    }

    func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().continuation.resume(returning: true)
        }
    }
}
