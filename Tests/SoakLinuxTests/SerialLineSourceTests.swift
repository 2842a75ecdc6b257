import Foundation
import Glibc
import SoakCore
import SoakLinux
import Testing

/// The M7 debug UART reader on real pseudo-terminals: the test holds the master (the M7 side of
/// the FTDI), the source opens a path the test controls (a symlink to the pty slave, re-pointed
/// to model re-enumeration).
struct SerialLineSourceTests {
    @Test func bannersGarbageLongLinesAndADisappearingAdapter() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        var pty = try PseudoTerminal()
        let link = dir.file("ttyUART")
        repoint(link, to: pty.slavePath)
        let start = MonotonicClock.read()
        let source = SerialLineSource(path: link, baud: 115_200)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(try await got.waitFor { $0.notices.contains(.opened(link)) }, "the port opens")

        // The NXP banners and an echo line, one write each: three lines, increasing times.
        let banners = [
            "\r\nRPMSG String Echo FreeRTOS RTOS API Demo...\r\n",
            "Nameservice sent, ready for incoming messages...\r\n",
            "Get Message From Master Side : \"abc\" [len : 3]\r\n",
        ]
        for (i, banner) in banners.enumerated() {
            #expect(writeAll(pty, Array(banner.utf8)))
            try #require(try await got.waitFor { $0.lines.count == i + 1 }, "line \(i + 1) arrives")
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(got.texts() == [
            "RPMSG String Echo FreeRTOS RTOS API Demo...",
            "Nameservice sent, ready for incoming messages...",
            "Get Message From Master Side : \"abc\" [len : 3]",
        ])
        let times = got.lines.map(\.at)
        #expect(times == times.sorted() && Set(times).count == 3, "increasing timestamps: \(times)")
        #expect(times.allSatisfy { $0 >= start && $0 <= MonotonicClock.read() })
        #expect(got.lines.allSatisfy { $0.source == .uart })

        // Binary garbage (a baud mismatch) and colour codes are tolerated.
        var rng = SystemRandomNumberGenerator()
        let garbage = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(writeAll(pty, garbage + Array("\r\n\u{1B}[1;32mgreen\u{1B}[0m after garbage\r\n".utf8)))
        try #require(try await got.waitFor { $0.texts().contains("green after garbage") })
        #expect(got.lines.allSatisfy { $0.text.utf8.count <= 4096 + 6 })

        // A 1 MiB line without a newline, then a normal line.
        let before = got.lines.count
        #expect(writeAll(pty, [UInt8](repeating: UInt8(ascii: "m"), count: 1 << 20)))
        #expect(writeAll(pty, Array("\r\nGet New Line From Master Side\r\n".utf8)))
        try #require(try await got.waitFor { $0.texts().last == "Get New Line From Master Side" })
        let longLines = Array(got.lines[before...].dropLast())
        #expect(longLines.count == 1, "one cut line for the 1 MiB line")
        #expect(longLines.first?.text == String(repeating: "m", count: 4096) + " [cut]")

        // The adapter vanishes: the node goes, the master closes.
        #expect(writeAll(pty, Array("partial line before the loss".utf8)))
        try await Task.sleep(for: .milliseconds(50))
        unlink(link)
        pty.close()
        try #require(try await got.waitFor { $0.notices.contains { $0.isLost } }, "the loss is noticed")
        #expect(got.texts().last == "partial line before the loss", "the partial line is flushed")

        // It comes back as another pty under the same name.
        pty = try PseudoTerminal()
        repoint(link, to: pty.slavePath)
        try #require(try await got.waitFor { $0.count(of: { $0 == .opened(link) }) == 2 }, "reopened at the same path")
        #expect(writeAll(pty, Array("RPMSG String Echo FreeRTOS RTOS API Demo...\r\n".utf8)))
        try #require(try await got.waitFor { $0.texts().last == "RPMSG String Echo FreeRTOS RTOS API Demo..." })

        let stopStart = MonotonicClock.read()
        source.stop()
        #expect(MonotonicClock.read() - stopStart < 1_000_000_000, "stop() is prompt")
        pty.close()

        // What the source said, in order: opened, lost, opened again.
        let said = got.notices.map { n -> String in
            switch n {
            case .opened: return "opened"
            case .lost: return "lost"
            default: return "other"
            }
        }
        #expect(said == ["opened", "lost", "opened"], "\(got.notices)")
    }

    @Test func aPortMissingAtStartIsLostUntilItAppears() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let link = dir.file("ttyUSB2")
        let source = SerialLineSource(path: link, baud: 921_600)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        #expect(got.notices.first == .lost("\(link) does not exist"))

        let pty = try PseudoTerminal()
        defer { pty.close() }
        repoint(link, to: pty.slavePath)
        try #require(got.waitFor { $0.notices.contains(.opened(link)) })
        #expect(writeAll(pty, Array("Nameservice sent, ready for incoming messages...\n".utf8)))
        try #require(got.waitFor { $0.texts() == ["Nameservice sent, ready for incoming messages..."] })
        #expect(got.count(of: { $0.isLost }) == 1, "a missing port is reported once, not per retry")

        let stopStart = MonotonicClock.read()
        source.stop()
        #expect(MonotonicClock.read() - stopStart < 1_000_000_000)
    }

    @Test func anUnsupportedBaudIsReportedNotFatal() throws {
        let pty = try PseudoTerminal()
        defer { pty.close() }
        let source = SerialLineSource(path: pty.slavePath, baud: 12_345)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        let text = got.notices.first?.text ?? ""
        #expect(got.notices.first?.isLost == true)
        #expect(text.contains("12345 baud") && text.contains("EINVAL"), "\(text)")
    }

    @Test func aUdevMatchThatFindsNothingIsLostAndRetried() throws {
        // (Not matched against a real tty: the ones here are the VM's consoles, which a test must
        // not reconfigure; pty slaves are not in sysfs.)
        let source = SerialLineSource(match: ["ID_SERIAL_SHORT": "FT4232H-NOPE", "ID_USB_INTERFACE_NUM": "02"])
        #expect(source.path == "udev match ID_SERIAL_SHORT=FT4232H-NOPE ID_USB_INTERFACE_NUM=02")
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        #expect(got.notices == [.lost("no tty device matches ID_SERIAL_SHORT=FT4232H-NOPE ID_USB_INTERFACE_NUM=02")])
    }

    @Test func aGlobFindsTheAdapterWhateverItsNumber() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let pty = try PseudoTerminal()
        let source = SerialLineSource(device: .glob(dir.file("ttyUSB*")))
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { $0.notices.contains { $0.isLost } }, "nothing there yet")
        repoint(dir.file("ttyUSB3"), to: pty.slavePath)
        try #require(got.waitFor { $0.notices.contains(.opened(dir.file("ttyUSB3"))) }, "\(got.notices)")
        #expect(writeAll(pty, Array("[M7] heartbeat 1\r\n".utf8)))
        try #require(got.waitFor { $0.texts() == ["[M7] heartbeat 1"] })
    }

    @Test func aPathThatIsNotATtyIsReported() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let file = dir.file("plain")
        append("not a tty\n", to: file)
        let source = SerialLineSource(path: file)
        let got = Collected()
        source.start(into: got.inbox)
        defer { source.stop() }
        try #require(got.waitFor { !$0.notices.isEmpty })
        #expect(got.notices.first?.text.contains("not a tty") == true)
        #expect(got.lines.isEmpty)
    }
}

/// The board file's check of a baud rate (SoakCore) and what the tty can be set to (here) agree.
@Test("ConfigLoader.standardBauds is SerialLineSource.standardBauds")
func configBaudsAreTheTtyBauds() {
    #expect(ConfigLoader.standardBauds == SerialLineSource.standardBauds)
}
