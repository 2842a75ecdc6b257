import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// A board reached over ssh from a lab host: every latency figure includes the network, and
/// every report says so beside it, with the network's own round trip.
struct NetworkLatencyTests {
    /// The fixture run, but its board reached over ssh and its intervals carrying ssh echoes.
    static func overSsh(roundTrips: [(UInt64, UInt64)]?) -> [Event] {
        var events = Fixture.run()
        var board = BoardConfig.builtInSimulator
        board.link = LinkConfig(location: .ssh(SshTarget(destination: "root@imx8mp-01", device: "/dev/ttyRPMSG30")))
        board.simulator = nil
        events[0].run?.board = board
        for i in events.indices where events[i].type == .interval {
            events[i].interval?.networkRoundTripMicros = roundTrips.map(Fixture.buckets)
        }
        return events
    }

    @Test func everyReportSaysTheLatencyIncludesTheNetworkAndGivesItsOwnRoundTrip() throws {
        let events = Self.overSsh(roundTrips: [(800, 9), (2_500, 1)])
        // The timeline keeps the round trips through its JSON.
        let decoded = try JSONDecoder().decode(Event.self, from: JSONEncoder().encode(events[2]))
        #expect(decoded.interval?.networkRoundTripMicros == Fixture.buckets([(800, 9), (2_500, 1)]))

        let s = try SummaryBuilder.build(events: events)
        let n = try #require(s.network)
        #expect(n.path == "ssh to root@imx8mp-01")
        #expect(n.roundTripMicros?.count == 20 && n.roundTripMicros?.p50 == 800, "two intervals of 10 echoes")
        #expect(n.roundTripMicros.map { (2_490...2_510).contains($0.max) } == true)

        let text = TextReport.render(s)
        #expect(text.contains("round trip: p50") && text.contains("; includes the network (ssh to root@imx8mp-01, its own round trip p50 800 us"), "\(text)")
        let md = MarkdownReport.render(s)
        #expect(md.contains("Latency includes the network (ssh to root@imx8mp-01, its own round trip p50 800 us"), "\(md)")
        let junit = JUnitReport.render(s)
        #expect(junit.contains(#"<property name="latency_includes" value="ssh to root@imx8mp-01"/>"#))
        #expect(junit.contains(#"<property name="network_round_trip_p50_us" value="800"/>"#))
        let p99 = try #require(s.criteria.first { $0.name == "latency_p99" })
        #expect(p99.message.hasSuffix("(includes the network: ssh to root@imx8mp-01)"), "\(p99.message)")
        let html = HtmlReport.render(s, events: events)
        #expect(html.contains("network alone (ssh echo)") && html.contains("round trip p99 (with network)"))
        #expect(html.contains("Every latency figure of this run includes the network (ssh to root@imx8mp-01"))
        #expect(html.contains("over the run, including the network (ssh to root@imx8mp-01)"))
        #expect(html.contains("Every latency above includes the network (ssh to root@imx8mp-01"), "under the phases' latencies too")

        var progress = ProgressLine()
        let line = progress.line(for: events[2]) ?? ""
        #expect(line.hasSuffix("(network 2.50 ms)") || line.contains("(network 2."), "\(line)")
    }

    @Test func aRemoteRunWithoutAMeasuredRoundTripStillSaysTheLatencyIncludesTheNetwork() throws {
        let s = try SummaryBuilder.build(events: Self.overSsh(roundTrips: nil))
        #expect(s.network?.roundTripMicros == nil)
        #expect(TextReport.render(s).contains("includes the network (ssh to root@imx8mp-01, its own round trip not measured)"))
    }

    @Test func aBoardOnThisMachineHasNoNetworkNote() throws {
        let s = try SummaryBuilder.build(events: Fixture.run())
        #expect(s.network == nil)
        #expect(!TextReport.render(s).contains("network"))
        #expect(!JUnitReport.render(s).contains("network"))
        #expect(!String(decoding: try JSONEncoder().encode(s), as: UTF8.self).contains("network"))
    }
}
