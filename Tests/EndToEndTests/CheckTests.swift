import Foundation
import Testing

/// `check` looks at what a board file names on this machine, without changing anything.
struct CheckTests {
    @Test func checkWarnsOfAMissingGpioChipAndStrictMakesItAnError() async throws {
        let dir = Harness.tempDir()
        let board = "\(dir)/relay.yaml"
        try """
        name: relay
        link: {device: /dev/null}
        \(Harness.quietKernel)
        uart: {device: /dev/no-such-uart}
        power: {kind: gpio, chip: no-such-chip, line: POWER_RELAY}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", board])
        #expect(r.status == 0, "a warning, not an error: \(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("warning: power: no GPIO chip labelled 'no-such-chip'"), "\(r.stdout)")
        #expect(r.stdout.contains("found: link: /dev/null is /dev/null"), "\(r.stdout)")
        #expect(r.stdout.contains("warning: uart: /dev/no-such-uart does not exist"), "\(r.stdout)")
        let strict = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", board, "--strict"])
        #expect(strict.status == 3, "\(strict.stdout)\n\(strict.stderr)")
        #expect(strict.stderr.contains("--strict"), "\(strict.stderr)")
    }
}

struct UsageTests {
    @Test func noSubcommandIsAUsageErrorWithTheHelpOnStderr() async throws {
        let r = try await Harness.run([])
        #expect(r.status == 2)
        #expect(r.stderr.contains("SUBCOMMANDS:") && r.stdout.isEmpty, "\(r.stdout)\n\(r.stderr)")
        let help = try await Harness.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("SUBCOMMANDS:"))
    }
}
