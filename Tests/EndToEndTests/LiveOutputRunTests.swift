import Foundation
import SoakLinux
import TestSupport
import Testing

/// `run --metrics`: the file node_exporter's textfile collector reads, read while the soak goes
/// on and at its end by the Prometheus project's own Python client (prometheus_client, from
/// .test-venv), its text-format parser and its OpenMetrics parser.
@Suite struct MetricsFileRunTests {
    static let hasPrometheusClient: Bool = {
        guard FileManager.default.isExecutableFile(atPath: Harness.venvPython) else { return false }
        return (try? python(["-c", "import prometheus_client"]).status) == 0
    }()

    @Test("the metrics file parses with prometheus_client while the run goes on and at its end",
          .enabled(if: hasPrometheusClient, "needs .test-venv with prometheus_client (scripts/setup --tests)"),
          arguments: ["prometheus", "openmetrics"])
    func metricsFileParsesWhileTheRunGoesOn(format: String) async throws {
        let out = Harness.tempDir()
        let metrics = "\(out)/rpmsg_soak.prom"
        let p = try await Harness.start(["run", Harness.fixture("short.yaml"), "--out", out, "--quiet",
                                         "--metrics", metrics, "--metrics-format", format])
        defer { Harness.kill9(p) }
        // A copy taken once the run has sent something and is still going: what a scrape sees.
        let snapshot = "\(out)/mid-run.prom"
        let taken = try await Harness.when(seconds: 30, {
            !p.process.isRunning || ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").contains("state=\"running\"} 1")
                && !(((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").contains("messages_sent_total{profile=\"short\",board=\"sim\"} 0\n"))
        }) { () -> Bool? in
            let text = try String(contentsOfFile: metrics, encoding: .utf8)
            try text.write(toFile: snapshot, atomically: false, encoding: .utf8)
            return p.process.isRunning
        }
        #expect(taken == true, "no metrics file with the run under way: \(p.stderrSoFar)")
        let mid = try Self.parse(snapshot, format: format)
        #expect(mid.value("rpmsg_soak_state", ["state": "running"]) == 1)
        #expect((mid.value("rpmsg_soak_messages_sent_total") ?? 0) > 0)
        #expect(mid.samples(of: "rpmsg_soak_verdict").isEmpty, "a verdict before the end")
        #expect(mid.families["rpmsg_soak_phase"]?.samples.first?.labels["phase"].map { ["ping-pong", "bursts"].contains($0) } == true
                || mid.families["rpmsg_soak_phase_info"]?.samples.first?.labels["phase"].map { ["ping-pong", "bursts"].contains($0) } == true)
        Self.expectWellFormed(mid, format: format)

        let r = await Harness.finish(p)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let end = try Self.parse(metrics, format: format)
        Self.expectWellFormed(end, format: format)
        let totals = try r.totals()
        #expect(end.value("rpmsg_soak_messages_sent_total") == Double(totals["sent"] ?? -1))
        #expect(end.value("rpmsg_soak_messages_echoed_total") == Double(totals["echoed"] ?? -1))
        #expect(end.value("rpmsg_soak_verdict", ["verdict": "passed"]) == 1)
        #expect(end.value("rpmsg_soak_state", ["state": "completed"]) == 1)
        #expect(end.value("rpmsg_soak_remaining_seconds") == 0)
        #expect((end.value("rpmsg_soak_latency_p99_seconds", ["scope": "run"]) ?? 0) > 0.001)
        // No temporary file left beside it for the collector to trip over.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }.isEmpty)
    }

    /// A link that never opens ends the run before any traffic: the file still says how it ended.
    @Test(.enabled(if: hasPrometheusClient, "needs .test-venv with prometheus_client (scripts/setup --tests)"))
    func aRunThatCannotReachItsBoardEndsWithStateAndVerdictError() async throws {
        let out = Harness.tempDir()
        let profile = "\(out)/p.yaml", board = "\(out)/b.yaml", metrics = "\(out)/m.prom"
        try String(contentsOfFile: Harness.fixture("short.yaml"), encoding: .utf8).replacingOccurrences(of: "  drain_timeout: 2s\n", with: "  drain_timeout: 2s\n  open_timeout: 0s\n")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        try "name: nowhere\nlink: {device: \(out)/no-such-tty}\n\(Harness.quietKernel)".write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", board, "--out", out, "--metrics", metrics])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        let m = try Self.parse(metrics, format: "prometheus")
        #expect(m.value("rpmsg_soak_state", ["state": "error"]) == 1)
        #expect(m.value("rpmsg_soak_verdict", ["verdict": "error"]) == 1)
        #expect(m.value("rpmsg_soak_messages_sent_total", ["board": "nowhere"]) == 0)
    }

    @Test func aMetricsFileInADirectoryThatIsNotThereIsAUsageError() async throws {
        let out = Harness.tempDir()
        let r = try await Harness.run(["run", Harness.fixture("short.yaml"), "--out", out, "--metrics", "\(out)/no/such/dir/x.prom"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--metrics"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, "a usage error touched --out")
    }

    /// Every family has HELP and TYPE, every sample `profile` and `board`.
    static func expectWellFormed(_ m: Parsed, format: String) {
        #expect(m.families.count >= 20)
        for (name, f) in m.families {
            #expect(!f.help.isEmpty, "\(name) has no HELP")
            #expect(["counter", "gauge", "info"].contains(f.type), "\(name) is \(f.type)")
            for s in f.samples {
                #expect(s.labels["profile"] == "short" && s.labels["board"] == "sim", "\(s.name) \(s.labels)")
            }
        }
        if format == "openmetrics" { #expect(m.families["rpmsg_soak_phase"]?.type == "info") }
    }

    struct Parsed {
        struct Sample: Decodable { var name: String; var labels: [String: String]; var value: Double }
        struct Family: Decodable { var type: String; var help: String; var samples: [Sample] }
        var families: [String: Family]

        func samples(of name: String) -> [Sample] { families.values.flatMap(\.samples).filter { $0.name == name } }
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples(of: name).first { s in labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
        }
    }

    /// The file through prometheus_client's parser for `format`, as JSON.
    static func parse(_ file: String, format: String) throws -> Parsed {
        let module = format == "openmetrics" ? "prometheus_client.openmetrics.parser" : "prometheus_client.parser"
        let r = try python(["-c", """
        import json, sys
        from \(module) import text_string_to_metric_families
        out = {}
        for f in text_string_to_metric_families(open(sys.argv[1]).read()):
            out[f.name] = {"type": f.type, "help": f.documentation,
                           "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
        print(json.dumps(out))
        """, file])
        #expect(r.status == 0, "prometheus_client refused \(file): \(r.output)")
        return Parsed(families: try JSONDecoder().decode([String: Parsed.Family].self, from: Data(r.output.utf8)))
    }

    static func python(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.venvPython)
        p.arguments = args
        let dir = Harness.tempDir()
        let outPath = "\(dir)/python.out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = p.standardOutput
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }
}

/// On a terminal the interval lines become one status line redrawn in place; the lines that
/// matter print above it and the verdict stands on a line of its own.
@Suite struct StatusLineRunTests {
    @Test func onATerminalTheStatusLineIsRedrawnInPlaceAndTheVerdictStandsAlone() async throws {
        let out = Harness.tempDir()
        let pty = try PseudoTerminal()
        guard await Harness.slots.acquire(within: 600) else { throw HarnessError(message: "no binary slot free") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Harness.binary)
        p.arguments = ["run", Harness.fixture("short.yaml"), "--out", out]
        p.currentDirectoryURL = Harness.packageRoot
        let terminal = FileHandle(forWritingAtPath: pty.slavePath)
        p.standardOutput = terminal
        p.standardError = FileHandle(forWritingAtPath: "\(out)/stderr")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? terminal?.close()
        // Read the terminal until the binary is gone and nothing more comes: a full pty would stall it.
        let bytes: [UInt8] = try await offPool {
            var all: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            var quiet = 0
            while quiet < 5 {
                _ = pty.wait(forWrite: false, timeout: 100_000_000)
                let n = pty.readAvailable(into: &buffer)
                if n > 0 { all += buffer[..<n]; quiet = 0 } else if !p.isRunning { quiet += 1 }
            }
            return all
        }
        p.waitUntilExit()
        await Harness.slots.release()
        pty.close()
        #expect(p.terminationStatus == 0)
        let text = String(decoding: bytes, as: UTF8.self)
        // Redrawn in place: a carriage return, the line, clear to its end; more than once.
        let redraws = text.components(separatedBy: "\r0:00:").count - 1
        #expect(redraws >= 3, "status line drawn \(redraws) times: \(text.debugDescription)")
        // A pty nobody sized: 80 columns, the shorter form (elapsed, left, phase, rate, counts, p99, failures).
        #expect(text.contains(" left ping-pong ") && text.contains(" left bursts ") && text.contains(" failures 0\u{1B}[K"), "\(text.debugDescription)")
        // What the terminal shows, line by line: the interval lines are gone (the status line had
        // them), the phase lines and the verdict each stand alone.
        let shown = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(Self.rendered)
        #expect(!shown.contains { $0.contains("in this phase (") }, "interval lines printed on a terminal: \(shown)")
        // (A busy machine may take a second or more to boot the simulated board: the stamps vary.)
        #expect(shown.contains { $0.hasPrefix("[0:00:") && $0.hasSuffix("] phase ping-pong") }, "\(shown)")
        #expect(shown.contains { $0.hasPrefix("[0:00:") && $0.hasSuffix("] phase bursts") }, "\(shown)")
        #expect(shown.contains { $0.hasPrefix("[0:00:") && $0.hasSuffix("] run ended: completed") }, "\(shown)")
        #expect(shown.contains("rpmsg-soak short on sim: PASSED (completed)"), "\(shown)")
        #expect(!shown.contains { $0.contains(" left ") }, "a status line left on the terminal: \(shown)")
    }

    /// One terminal line as a terminal shows it: `\r` goes back to its start, `ESC [K` clears
    /// from the cursor to its end, anything else overwrites.
    static func rendered(_ line: Substring) -> String {
        var cells: [Character] = []
        var cursor = 0
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if c == "\r" {
                cursor = 0
            } else if c == "\u{1B}", line[i...].hasPrefix("\u{1B}[K") {
                cells.removeSubrange(min(cursor, cells.count)...)
                i = line.index(i, offsetBy: 3)
                continue
            } else {
                if cursor < cells.count { cells[cursor] = c } else { cells.append(c) }
                cursor += 1
            }
            i = line.index(after: i)
        }
        return String(cells)
    }
}
