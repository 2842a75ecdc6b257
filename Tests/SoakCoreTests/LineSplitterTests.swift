import SoakCore
import Testing

/// The UART line splitter on the byte streams a real console gives: every terminator style,
/// terminators split across reads, colour codes, binary garbage, endless lines.
struct LineSplitterTests {
    private func texts(_ chunks: [[UInt8]], _ splitter: inout LineSplitter) -> [String] {
        var out: [String] = []
        for (i, chunk) in chunks.enumerated() {
            out += splitter.feed(chunk[...], at: UInt64(i + 1)).map(\.text)
        }
        return out
    }

    private func texts(_ chunks: [String]) -> [String] {
        var s = LineSplitter()
        return texts(chunks.map { Array($0.utf8) }, &s)
    }

    @Test func crLfAndCrLfAllEndLines() {
        #expect(texts(["a\nb\rc\r\nd\n"]) == ["a", "b", "c", "d"])
        #expect(texts(["RPMSG String Echo FreeRTOS RTOS API Demo...\r\n"]) == ["RPMSG String Echo FreeRTOS RTOS API Demo..."])
    }

    @Test func crLfSplitAcrossReadsIsOneTerminator() {
        var s = LineSplitter(keepEmptyLines: true)
        #expect(texts([Array("abc\r".utf8), Array("\ndef\r".utf8), Array("\n".utf8)], &s) == ["abc", "def"])
        // Two CRs are two line ends; LF CR is two too.
        var t = LineSplitter(keepEmptyLines: true)
        #expect(texts([Array("a\r".utf8), Array("\rb\n\rc\n".utf8)], &t) == ["a", "", "b", "", "c"])
    }

    @Test func emptyLinesAreDroppedByDefault() {
        #expect(texts(["\r\n\r\nRPMSG String Echo FreeRTOS RTOS API Demo...\r\n\n\nNameservice sent\r\n"])
                == ["RPMSG String Echo FreeRTOS RTOS API Demo...", "Nameservice sent"])
    }

    @Test func eachLineCarriesTheTimeOfItsFirstByte() {
        var s = LineSplitter()
        #expect(s.feed(Array("Get Message".utf8)[...], at: 100).isEmpty)
        let lines = s.feed(Array(" From Master Side\r\nnext\n".utf8)[...], at: 200)
        #expect(lines.map(\.at) == [100, 200])
        #expect(lines.map(\.text) == ["Get Message From Master Side", "next"])
        #expect(lines.allSatisfy { $0.source == .uart && $0.level == nil })
    }

    @Test func ansiEscapesAreRemoved() {
        #expect(texts(["\u{1B}[1;31mASSERT ERROR\u{1B}[0m \"len < 512\"\r\n"]) == ["ASSERT ERROR \"len < 512\""])
        #expect(texts(["\u{1B}[2J\u{1B}[Hclear\n", "\u{1B}]0;title\u{07}osc\n", "\u{1B}(Bcharset\n"])
                == ["clear", "osc", "charset"])
        // An escape sequence split across reads.
        var s = LineSplitter()
        #expect(texts([[0x1B], Array("[3".utf8), Array("2mgreen\n".utf8)], &s) == ["green"])
        // A terminator inside an unfinished sequence still ends the line.
        #expect(texts(["x\u{1B}[12\ny\n"]) == ["x", "y"])
    }

    @Test func tabKeptNulDroppedControlsAndInvalidUTF8Replaced() {
        var s = LineSplitter()
        let lines = s.feed([0x61, 0x09, 0x62, 0x00, 0x63, 0x07, 0xFF, 0xC3, 0xA9, 0x0A][...], at: 1)
        #expect(lines.map(\.text) == ["a\tbc\u{FFFD}\u{FFFD}é"])
    }

    @Test func invalidUTF8IsReplacedAsItComes() {
        func clean(_ chunks: [[UInt8]]) -> String? {
            var s = LineSplitter()
            var out: [SourceLine] = []
            for c in chunks { out += s.feed(c[...], at: 1) }
            return (out.first ?? s.flush())?.text
        }
        #expect(clean([[0xF0, 0x9F], [0x98, 0x80, 0x0A]]) == "😀", "a character split across reads")
        #expect(clean([[0xC0, 0x80, 0x41, 0x0A]]) == "\u{FFFD}\u{FFFD}A", "overlong NUL")
        #expect(clean([[0xED, 0xA0, 0x80, 0x0A]]) == "\u{FFFD}\u{FFFD}\u{FFFD}", "a surrogate")
        #expect(clean([[0x80, 0x41, 0x0A]]) == "\u{FFFD}A", "a stray continuation byte")
        #expect(clean([[0x41, 0xE2, 0x82, 0x0A]]) == "A\u{FFFD}", "unfinished at the line end")
        #expect(clean([[0x41, 0xE2, 0x82]]) == "A\u{FFFD}", "unfinished at a flush")
        #expect(clean([[0xE2, 0x41, 0x0A]]) == "\u{FFFD}A")
        #expect(clean([[0x1B, 0xC3, 0xA9, 0x0A]]) == "é", "ESC before a non-ASCII byte is no sequence")
        #expect(clean([[0x61, 0x0D, 0x00, 0x0A, 0x62, 0x0A]]) == "a")
        var s = LineSplitter(keepEmptyLines: true)
        #expect(s.feed([0x61, 0x0D, 0x00, 0x0A, 0x62, 0x0A][...], at: 1).map(\.text) == ["a", "b"],
                "a NUL between CR and LF does not make an empty line")
    }

    @Test func binaryGarbageGivesBoundedLinesAndTheNextLineSurvives() {
        var rng = SystemRandomNumberGenerator()
        var garbage = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        garbage.removeAll { $0 == 0x0A || $0 == 0x0D }
        var s = LineSplitter(maxLength: 256)
        var out = s.feed(garbage[...], at: 1)
        out += s.feed(Array("\r\nNameservice sent, ready for incoming messages...\r\n".utf8)[...], at: 2)
        #expect(out.count == 2)
        #expect(out.last?.text == "Nameservice sent, ready for incoming messages...")
        #expect(out.first.map { $0.text.utf8.count <= 256 + LineSplitter.cutMarker.utf8.count } == true)
    }

    @Test func aMegabyteLineWithoutNewlineStaysBoundedAndIsCutOnce() {
        var s = LineSplitter()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        var lines: [SourceLine] = []
        var maxHeld = 0, maxCapacity = 0
        for i in 0..<256 {  // 1 MiB
            lines += s.feed(chunk[...], at: UInt64(i + 1))
            maxHeld = max(maxHeld, s.bufferedByteCount)
            maxCapacity = max(maxCapacity, s.storageCapacity)
        }
        #expect(maxHeld <= LineSplitter.defaultMaxLength)
        #expect(maxCapacity < 2 * LineSplitter.defaultMaxLength, "the storage does not grow with the line")
        #expect(lines.count == 1, "one cut line, emitted when the limit was reached")
        #expect(lines.first?.text == String(repeating: "x", count: 4096) + " [cut]")
        #expect(lines.first?.at == 1)
        #expect(s.cutLines == 1)
        #expect(s.flush() == nil, "the rest of a cut line is dropped, not emitted again")

        // The rest of the long line up to its terminator is dropped; the next line is whole.
        var t = LineSplitter()
        var more: [SourceLine] = []
        for i in 0..<256 { more += t.feed(chunk[...], at: UInt64(i)) }
        more += t.feed(Array("tail\r\nGet New Line From Master Side\r\n".utf8)[...], at: 999)
        #expect(more.map(\.text).last == "Get New Line From Master Side")
        #expect(more.count == 2)
    }

    @Test func aCutNeverSplitsAMultiByteCharacter() {
        var s = LineSplitter(maxLength: 16)
        let lines = s.feed(Array((String(repeating: "a", count: 15) + "éééé\n").utf8)[...], at: 1)
        #expect(lines.map(\.text) == [String(repeating: "a", count: 15) + " [cut]"])
    }

    @Test func flushGivesTheTrailingPartialLine() {
        var s = LineSplitter()
        #expect(s.feed(Array("ASSERT ERROR \" len < 512 \"".utf8)[...], at: 7).isEmpty)
        let last = s.flush()
        #expect(last?.text == "ASSERT ERROR \" len < 512 \"")
        #expect(last?.at == 7)
        #expect(s.flush() == nil)
        #expect(s.bufferedByteCount == 0)
    }
}
