import Foundation
import TestSupport
import Testing

/// A million UART lines through a real pty pair and a million kernel records appended to the
/// kernel log file, both while a soak runs on a socat echo: every rule hit in the floods is
/// found, and every line is either in uart.log / kernel.log or counted as not kept, exactly.
@Suite(.serialized) struct FloodTests {
    static let lines = 1_000_000
    /// Lines that match a rule: a quarter, half and three quarters through, and the last one
    /// (the test's sign that the tester has read everything).
    static let hits = [lines / 4, lines / 2, 3 * lines / 4, lines - 1]

    @Test func aMillionLinesOnEachSourceLoseNoFindingAndEveryLineIsAccountedFor() async throws {
        let dir = Harness.tempDir()
        let echo = try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(dir)/ttyECHO", "exec:cat"])
        defer { Harness.stop(echo) }
        let uart = try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(dir)/uartA", "pty,raw,echo=0,link=\(dir)/uartB"])
        defer { Harness.stop(uart) }
        #expect(try await Harness.waitForPath("\(dir)/ttyECHO"))
        #expect(try await Harness.waitForPath("\(dir)/uartB"))
        FileManager.default.createFile(atPath: "\(dir)/kernel.txt", contents: nil)
        try """
            name: flood-board
            link: {device: \(dir)/ttyECHO}
            uart: {device: \(dir)/uartA}
            kernel_log: {source: file, path: \(dir)/kernel.txt}
            """.write(toFile: "\(dir)/board.yaml", atomically: true, encoding: .utf8)
        // Slow traffic and long timeouts: the floods load the machine, the link must not fail.
        try """
            name: flood
            report_interval: 1s
            link: {hang_timeout: 5m, loss_timeout: 1m, drain_timeout: 5s}
            rules:
              - {name: uart-hit, source: uart, pattern: 'UART-HIT-(\\d+)', class: flood-hit, severity: warning, explain: 'uart hit $1', action: record}
              - {name: kernel-hit, source: kernel, pattern: 'KERNEL-HIT-(\\d+)', class: flood-hit, severity: warning, explain: 'kernel hit $1', action: record}
            phases:
              - {name: steady, duration: 30m, rate: 50, size: 64, window: 4}
            """.write(toFile: "\(dir)/p.yaml", atomically: true, encoding: .utf8)

        let p = try await Harness.start(["run", "\(dir)/p.yaml", "--board", "\(dir)/board.yaml", "--out", "\(dir)/out"])
        defer { Harness.kill9(p) }
        let folder = try #require(try await Harness.whenUnderWay(p, intervals: 1, seconds: 120) {})

        // Both floods at once, each on its own thread, as fast as the pty and the file take them.
        let uartWriter = Thread { Self.flood(path: "\(dir)/uartB", prefix: "UART") }
        let kernelWriter = Thread { Self.flood(path: "\(dir)/kernel.txt", prefix: "KERNEL") }
        uartWriter.start()
        kernelWriter.start()
        // The last line of each flood is a rule hit, so it is kept: once both logs hold it, the
        // tester has read every line before it. (The debug build alone reads both in about 60 s;
        // in CI, beside every other test on 2 cores, it took 240 s: the limit leaves room.)
        let last = Self.lines - 1
        let done = try await Harness.when(seconds: 1200, {
            Self.contains("\(folder)/uart.log", "UART-HIT-\(last)") && Self.contains("\(folder)/kernel.log", "KERNEL-HIT-\(last)")
        }) { true }
        #expect(done == true, "the tester did not read both floods to their end within 20 minutes")
        p.terminate()
        let r = await Harness.finish(p)
        #expect(r.status == 130, "\(r.stdout)\n\(r.stderr)")

        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        for (source, prefix, log) in [("uart", "UART", "uart.log"), ("kernel", "KERNEL", "kernel.log")] {
            // Every hit is a finding.
            for hit in Self.hits {
                #expect(events.contains("\(source) hit \(hit)\""), "\(prefix)-HIT-\(hit) is not a finding")
            }
            // Every line is in the log or counted as not kept, exactly.
            let kept = try String(contentsOfFile: "\(folder)/\(log)", encoding: .utf8)
                .split(separator: "\n").filter { $0.contains(" \(prefix)-") }.count
            var notKept = 0
            for line in events.split(separator: "\n") where line.contains("\"type\":\"lines_not_kept\"") {
                let e = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let n = try #require(e["not_kept"] as? [String: Any])
                if n["source"] as? String == source { notKept += n["count"] as? Int ?? 0 }
            }
            #expect(kept + notKept == Self.lines, "\(source): \(kept) kept + \(notKept) not kept")
            if notKept > 0 {
                let summary = try r.summary()
                let counted = (summary["lines_not_kept"] as? [String: Int])?[source]
                #expect(counted == notKept)
                let warnings = (summary["warnings"] as? [String] ?? []).joined(separator: "\n")
                #expect(warnings.contains("\(source): \(notKept) "), "\(warnings)")
                let report = try String(contentsOfFile: "\(folder)/report.txt", encoding: .utf8)
                #expect(report.contains("not kept in \(log)"))
            }
        }
        #expect(!events.contains("dropped unread"), "no line may be dropped without being judged")
    }

    /// Writes the flood in 64 KiB chunks: filler lines, and a rule hit at each of `hits`.
    static func flood(path: String, prefix: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(70_000)
        for i in 0..<lines {
            let text = hits.contains(i) ? "\(prefix)-HIT-\(i) something the rules look for\r\n"
                : "[\(i)] \(prefix)-debug: tick \(i) value \(i &* 7) some filler text\r\n"
            chunk.append(contentsOf: text.utf8)
            if chunk.count >= 65_536 || i == lines - 1 {
                var off = 0
                while off < chunk.count {
                    let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                    if n < 0 { if errno == EINTR || errno == EAGAIN { usleep(1000); continue } else { return } }
                    off += n
                }
                chunk.removeAll(keepingCapacity: true)
            }
        }
    }

    static func contains(_ path: String, _ text: String) -> Bool {
        // Only the end of the log: the marker is the last line written.
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: size > 65_536 ? size - 65_536 : 0)
        let tail = String(decoding: (try? h.readToEnd()) ?? Data(), as: UTF8.self)
        return tail.contains(text)
    }
}
