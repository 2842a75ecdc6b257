import Testing
@testable import SoakCore

@Suite("SoakDuration")
struct DurationTests {
    @Test("parses the units a profile uses", arguments: [
        ("500ms", 500 * ms), ("30s", 30 * sec), ("1h30m", 5_400 * sec), ("250us", 250 * us),
        ("12h", 43_200 * sec), ("2.5", 2_500 * ms), ("5m", 300 * sec), ("1.5s", 1_500 * ms), ("0", 0), (" 10s ", 10 * sec),
    ])
    func parses(text: String, nanoseconds: UInt64) {
        #expect(SoakDuration.parse(text)?.nanoseconds == nanoseconds)
    }

    @Test("rejects what is not a duration", arguments: ["abc", "5x", "-1s", "", "s", "1h30", "-2.5", "5 s"])
    func rejects(text: String) {
        #expect(SoakDuration.parse(text) == nil)
    }

    @Test("a duration too long for UInt64 nanoseconds is rejected, not a crash",
          arguments: ["1e12", "6000000h", "20000000000s", "99999999999999999999ms"])
    func tooLong(text: String) {
        #expect(SoakDuration.parse(text) == nil)
    }

    @Test("the longest duration that fits still parses")
    func longestFits() {
        #expect(SoakDuration.parse("5000000h")?.nanoseconds == 5_000_000 * 3_600 * sec)
    }

    @Test("prints in the largest whole unit")
    func describes() {
        #expect(SoakDuration(nanoseconds: 5_400 * sec).description == "90m")
        #expect(SoakDuration(nanoseconds: 7_200 * sec).description == "2h")
        #expect(SoakDuration.milliseconds(500).description == "500ms")
        #expect(SoakDuration(nanoseconds: 250 * us).description == "250us")
        #expect(SoakDuration(nanoseconds: 0).description == "0s")
    }
}
