import Foundation
import TestSupport
import Testing

/// The run folder where CI can name it, a disk that fills in the middle of a run, and a stop
/// before the run has begun (issues 13 and 16), through the built binary.
@Suite(.serialized)
struct DiskAndStopTests {
    /// 15 s on the simulated board at 100 messages/s: the M7's UART prints every message, so
    /// uart.log grows about 11 KB/s.
    static func writeProfile(in dir: String, name: String = "disk", seconds: Int = 15) throws -> String {
        let path = "\(dir)/profile.yaml"
        try """
        name: \(name)
        report_interval: 500ms
        phases:
          - duration: \(seconds)s
            rate: 100
            size: 64
            window: 4
        criteria:
          min_rate_ratio: 0   # the simulated M7 prints each message: about 94/s, not the 100 asked
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Whether this machine lets a user make a mount namespace with a tmpfs (`unshare -rm`).
    static let tmpfsPossible: Bool = {
        let dir = Harness.tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k none \"$0\"", dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    /// Runs the binary with --out on a 512 KiB tmpfs (in a mount namespace of its own) of which
    /// `fill` KiB are taken by a filler file. `free`: once the binary warned that events.jsonl
    /// could not be written, the filler is removed (a disk cleaned up while the run goes on).
    /// The run folder is copied out before the namespace (and its tmpfs) goes.
    static func runOnTmpfs(profile: String, fill: Int, free: Bool) async throws -> (status: Int32, stdout: String, stderr: String, run: String, waited: Int) {
        let res = Harness.tempDir()
        let mnt = "\(res)/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let script = """
        mount -t tmpfs -o size=512k none "$MNT" || exit 97
        dd if=/dev/zero of="$MNT/filler" bs=1k count=$FILL 2>/dev/null
        "$BIN" run "$PROFILE" --out "$MNT/out" >"$RES/stdout" 2>"$RES/stderr" &
        pid=$!
        i=0
        if [ "$FREE" = 1 ]; then
          while ! grep -q 'events.jsonl: No space left on device' "$RES/stderr"; do
            kill -0 $pid 2>/dev/null || break
            sleep 0.1; i=$((i+1))
          done
          rm -f "$MNT/filler"
        fi
        echo $i >"$RES/waited"
        wait $pid
        echo $? >"$RES/status"
        cp -rL "$MNT/out/latest" "$RES/run"
        """
        guard await Harness.slots.acquire(within: 600) else { throw HarnessError(message: "no binary slot") }
        defer { Task { await Harness.slots.release() } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-rm", "sh", "-c", script]
        p.environment = ProcessInfo.processInfo.environment.merging(
            ["MNT": mnt, "BIN": Harness.binary, "PROFILE": profile, "RES": res, "FILL": "\(fill)", "FREE": free ? "1" : "0"]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let done = Handed(value: p)
        try await offPool {
            try done.value.run()
            done.value.waitUntilExit()
        }
        func read(_ name: String) -> String { (try? String(contentsOfFile: "\(res)/\(name)", encoding: .utf8)) ?? "" }
        return (Int32(read("status").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, read("stdout"), read("stderr"), "\(res)/run",
                Int(read("waited").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }

    @Test(.enabled(if: tmpfsPossible, "needs unshare -rm (a user and mount namespace) for a real tmpfs"))
    func tmpfsFillingMidRunWarnsAtOnceAndTheEndReportIsComplete() async throws {
        let profile = try Self.writeProfile(in: Harness.tempDir())
        let r = try await Self.runOnTmpfs(profile: profile, fill: 440, free: true)
        #expect(r.status == 0, "\(r.stderr)")
        // Said while the run went on (the script saw it before the binary ended), naming file and errno text.
        let first = try #require(r.stderr.split(separator: "\n").first { $0.contains("events.jsonl: No space left on device") })
        #expect(first.hasPrefix("rpmsg-soak: warning: cannot write ") && first.contains("the soak goes on"), "\(first)")
        #expect(r.stderr.contains("uart.log: No space left on device"), "\(r.stderr)")
        #expect(!r.stderr.contains("Domain") && !r.stderr.contains("Code="), "\(r.stderr)")
        // The end: what was lost, on stderr and in every report; the soak itself complete.
        #expect(r.stderr.contains("events could not be written to events.jsonl: No space left on device"), "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(r.run)/summary.json"))) as? [String: Any]
        let totals = try #require(summary?["totals"] as? [String: Int])
        #expect(summary?["verdict"] as? String == "passed")
        #expect((totals["sent"] ?? 0) >= 1000 && totals["sent"] == totals["echoed"], "\(totals)")
        let warnings = (summary?["warnings"] as? [String]) ?? []
        #expect(warnings.contains { $0.contains("events could not be written to events.jsonl: No space left on device") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("lines could not be written to uart.log") }, "\(warnings)")
        for name in ["report.txt", "report.md", "junit.xml", "report.html"] {
            let text = try String(contentsOfFile: "\(r.run)/\(name)", encoding: .utf8)
            #expect(text.contains("could not be written to events.jsonl"), "\(name)")
        }
        // uart.log goes on once the disk takes lines again, with the gap marked where it is.
        let uart = try String(contentsOfFile: "\(r.run)/uart.log", encoding: .utf8)
        #expect(uart.contains(" lines could not be written here: No space left on device"), "\(uart.suffix(2000))")
        // The timeline was completed from memory once the disk took it: `report` reads the same run.
        let again = try await Harness.run(["report", r.run])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("\(totals["sent"] ?? -1) sent, \(totals["echoed"] ?? -1) echoed"), "\(again.stdout)")
    }

    @Test(.enabled(if: tmpfsPossible, "needs unshare -rm (a user and mount namespace) for a real tmpfs"))
    func tmpfsFullToTheEndSaysOneLinePerReportInPlainWords() async throws {
        let profile = try Self.writeProfile(in: Harness.tempDir(), seconds: 8)
        let r = try await Self.runOnTmpfs(profile: profile, fill: 440, free: false)
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let reportLines = lines.filter { $0.hasPrefix("rpmsg-soak: cannot write ") }
        #expect(reportLines.contains { $0.hasSuffix("/summary.json: No space left on device") }, "\(r.stderr)")
        for line in reportLines { #expect(line.hasSuffix(": No space left on device"), "\(line)") }
        #expect(!r.stderr.contains("Domain") && !r.stderr.contains("Code=") && !r.stderr.contains("NSCocoa"), "\(r.stderr)")
        // The verdict still reaches the console, and says the timeline was kept in memory.
        #expect(r.stdout.contains("rpmsg-soak disk on sim: PASSED"), "\(r.stdout)")
        #expect(r.stderr.contains("events could not be written to events.jsonl: No space left on device"), "\(r.stderr)")
    }

    @Test func runDirIsTheFixedRunFolderAndLatestIsNotTouched() async throws {
        let dir = Harness.tempDir()
        let profile = try Self.writeProfile(in: dir, seconds: 2)
        let runDir = "\(dir)/ci/artifacts/soak"
        let r = try await Harness.run(["run", profile, "--run-dir", runDir, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.runFolder == runDir)
        #expect(FileManager.default.fileExists(atPath: "\(runDir)/junit.xml"))
        #expect(FileManager.default.fileExists(atPath: "\(runDir)/summary.json"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/ci/artifacts/latest"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/ci/latest"))

        // A second run into the same folder: a clear error, nothing touched.
        let before = try FileManager.default.contentsOfDirectory(atPath: runDir).sorted()
        let again = try await Harness.run(["run", profile, "--run-dir", runDir, "--quiet"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("--run-dir \(runDir): holds \(before.count) file(s) already"), "\(again.stderr)")
        #expect(again.stderr.contains("give a new or empty folder"), "\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: runDir).sorted() == before)

        let both = try await Harness.run(["run", profile, "--run-dir", "\(dir)/x", "--out", dir])
        #expect(both.status == 2)
        #expect(both.stderr.contains("--out and --run-dir: give one"), "\(both.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/x"))
    }

    /// SIGTERM raised while blocked, then exec: pending from the binary's first instruction, it is
    /// delivered the moment the binary unblocks it, before the profile is read. (Unblocked, a
    /// signal during the dynamic loader, before any code of the program runs, still ends it by
    /// the default action: nothing a program can catch.)
    @Test func sigtermPendingAtStartLeavesARunFolderThatReportTurnsIntoReports() async throws {
        let dir = Harness.tempDir()
        let profile = try Self.writeProfile(in: dir, seconds: 10)
        guard await Harness.slots.acquire(within: 600) else { throw HarnessError(message: "no binary slot") }
        defer { Task { await Harness.slots.release() } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
        os.kill(os.getpid(), signal.SIGTERM)
        os.execv(sys.argv[1], sys.argv[1:])
        """, Harness.binary, "run", profile, "--out", "\(dir)/out"]
        let outPath = "\(dir)/stdout", errPath = "\(dir)/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardInput = FileHandle.nullDevice
        let handed = Handed(value: p)
        try await offPool {
            try handed.value.run()
            handed.value.waitUntilExit()
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(p.terminationReason == .exit && p.terminationStatus == 130, "\(p.terminationReason) \(p.terminationStatus): \(err)")
        let folder = try #require(Harness.Result(status: 0, stdout: out, stderr: err).runFolder, "\(out)\(err)")
        #expect(folder.hasPrefix("\(dir)/out/disk-"))
        #expect(out.contains("INTERRUPTED"), "\(out)")
        let timeline = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(timeline.contains("\"type\":\"run_start\"") && timeline.contains("\"reason\":\"interrupted\""), "\(timeline)")
        for name in ["summary.json", "junit.xml", "report.txt"] { try FileManager.default.removeItem(atPath: "\(folder)/\(name)") }
        let report = try await Harness.run(["report", folder])
        #expect(report.status == 1, "a cut-off run is not a pass: \(report.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/summary.json") && FileManager.default.fileExists(atPath: "\(folder)/junit.xml"))
    }
}
