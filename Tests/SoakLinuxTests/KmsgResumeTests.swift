import SoakCore
import SoakLinux
import Testing

/// Where the board's kernel log read over ssh goes on from: the /dev/kmsg decisions without ssh.
struct KmsgResumeTests {
    /// The resume state behind a reference, so the expectations can call its mutating methods.
    final class Resume {
        var state = KmsgResume()
        func decide(_ seq: UInt64, _ micros: UInt64, _ at: UInt64) -> KmsgResume.Decision { state.decide(seq: seq, micros: micros, at: at) }
        @discardableResult
        func connect(_ boot: String, _ uptime: UInt64, _ at: UInt64) -> Bool { state.connected(bootID: boot, uptimeMicros: uptime, at: at) }
        func connect(from: UInt64) -> Bool { state.connected(fileFrom: from) }
    }

    static let second: UInt64 = 1_000_000_000

    @Test func headersAreParsed() {
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg device 0b1c-77 12345.67") == .device(bootID: "0b1c-77", uptimeMicros: 12_345_670_000))
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg device b 7") == .device(bootID: "b", uptimeMicros: 7_000_000))
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg file 1200 1200") == .file(size: 1200, from: 1200))
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg file  300 0") == .file(size: 300, from: 0))
        #expect(KmsgResume.parseHeader("3,100,5000,-;imx-rproc imx8mp-cm7") == nil)
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg device b") == nil)
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg device b x.5") == nil)
        #expect(KmsgResume.parseHeader("rpmsg-soak-kmsg pipe 1 2") == nil)
    }

    @Test func theFirstBurstSkipsRecordsFromBeforeTheUptimeAtConnection() {
        let r = Resume()
        let t0: UInt64 = 50 * Self.second
        r.connect("A", 100_000_000, t0)  // up 100 s
        #expect(r.decide(1, 1_000, t0 + 1) == .skip, "boot-time history")
        #expect(r.decide(2, 99_999_999, t0 + 2) == .skip)
        #expect(r.decide(3, 100_000_500, t0 + 3) == .deliver(missed: 0), "logged after the start")
        #expect(r.decide(5, 100_200_000, t0 + 4) == .deliver(missed: 1), "seq 4 was overwritten")
        #expect(r.state.lastDelivered == 5)
    }

    @Test func aLaggingPrintkClockLosesNothingAfterTheBurst() {
        // Suspended for a while: the printk clock is behind the uptime, so new records carry
        // timestamps below the uptime at connection.
        let r = Resume()
        let t0: UInt64 = 10 * Self.second
        r.connect("A", 500_000_000, t0)
        #expect(r.decide(10, 200_000_000, t0 + Self.second / 10) == .skip, "history in the burst")
        #expect(r.decide(11, 300_000_000, t0 + KmsgResume.burst) == .deliver(missed: 0), "after the burst: new")
        #expect(r.decide(12, 300_000_100, t0 + 5 * Self.second) == .deliver(missed: 0))
    }

    @Test func aReconnectToTheSameBootSkipsWhatWasDelivered() {
        let r = Resume()
        r.connect("A", 0, 0)
        for seq: UInt64 in 1...5 { #expect(r.decide(seq, seq, 1) == .deliver(missed: 0)) }
        // The connection dropped; `cat` starts again at the oldest record in the ring.
        let later = 100 * Self.second
        #expect(r.connect("A", 200_000_000, later) == false)
        for seq: UInt64 in 1...5 { #expect(r.decide(seq, seq, later + 1) == .skip, "seq \(seq) was delivered") }
        #expect(r.decide(6, 150_000_000, later + 2) == .deliver(missed: 0),
                "logged while disconnected: below the new uptime, still delivered")
        #expect(r.decide(9, 210_000_000, later + 3) == .deliver(missed: 2))
    }

    @Test func aReconnectToTheSameBootBeforeAnyDeliveryKeepsTheFirstCut() {
        let r = Resume()
        r.connect("A", 100_000_000, 0)
        #expect(r.decide(1, 5, 1) == .skip)
        let later = 30 * Self.second
        r.connect("A", 130_000_000, later)
        #expect(r.decide(1, 5, later + 1) == .skip, "still from before the run")
        #expect(r.decide(2, 110_000_000, later + 2) == .deliver(missed: 0), "logged after the run's start")
    }

    @Test func aNewBootIsDeliveredFromItsStart() {
        let r = Resume()
        r.connect("A", 100_000_000, 0)
        #expect(r.decide(700, 100_000_001, 1) == .deliver(missed: 0))
        let later = 60 * Self.second
        #expect(r.connect("B", 8_000_000, later), "power-cycled: another boot id")
        #expect(r.state.lastDelivered == nil)
        #expect(r.decide(0, 0, later + 1) == .deliver(missed: 0), "the new boot's first record")
        #expect(r.decide(1, 1_000, later + 2) == .deliver(missed: 0))
        #expect(r.decide(1, 1_000, later + 3) == .skip)
    }

    @Test func aFileGoesOnAfterTheBytesReceived() {
        let r = Resume()
        #expect(r.state.fileOffset == nil, "the first session starts at the file's end")
        #expect(r.connect(from: 1200) == false)
        r.state.received(30)
        r.state.received(12)
        #expect(r.state.fileOffset == 1242)
        #expect(r.connect(from: 1242) == false, "going on where it stopped")
        #expect(r.connect(from: 0) == true, "the file shrank: from its start")
        #expect(r.state.fileOffset == 0)
    }

    @Test func theRemoteCommandQuotesThePathAndGoesOnFromTheOffset() {
        let first = SshKmsgSource.remoteCommand(path: "/tmp/it's kmsg", from: nil)
        #expect(first.hasPrefix(#"K='/tmp/it'\''s kmsg'; F=-1; "#), "\(first)")
        #expect(first.contains(#"exec cat "$K""#) && first.contains(#"exec tail -c +$((F+1)) -f "$K""#))
        #expect(SshKmsgSource.remoteCommand(path: "/dev/kmsg", from: 4096).contains("F=4096; "))
        // As README.md ("The board over SSH") shows it: change both together.
        #expect(SshKmsgSource.remoteCommand(path: "/dev/kmsg", from: nil) == #"K='/dev/kmsg'; F=-1; if [ -c "$K" ]; then read B </proc/sys/kernel/random/boot_id && read U I </proc/uptime || exit 70; printf 'rpmsg-soak-kmsg device %s %s\n' "$B" "$U"; exec cat "$K"; fi; S=$(wc -c <"$K") || exit 66; S=$((S)); if [ "$F" -lt 0 ]; then F=$S; elif [ "$S" -lt "$F" ]; then F=0; fi; printf 'rpmsg-soak-kmsg file %s %s\n' "$S" "$F"; exec tail -c +$((F+1)) -f "$K""#)
    }
}
