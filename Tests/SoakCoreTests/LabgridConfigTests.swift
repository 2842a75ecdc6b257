import Foundation
import Testing
@testable import SoakCore

@Suite("A labgrid place in a board file, and what it stands for")
struct LabgridConfigTests {
    static let board = """
        name: lab-01
        labgrid: {place: imx8mp-01, coordinator: "lab-coordinator:20408"}
        link: {device: /dev/ttyRPMSG*, ssh_options: [-i, key]}
        uart: {baud: 115200, ready: 'String Echo'}
        power: {kind: labgrid, off_time: 2s}
        """

    @Test("the place, the tty on its board, its serial port and its power")
    func parses() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        #expect(b.labgrid == LabgridConfig(place: "imx8mp-01", coordinator: "lab-coordinator:20408"))
        #expect(b.link.location == .labgrid("/dev/ttyRPMSG*", sshOptions: ["-i", "key"]))
        #expect(b.uart?.location == .labgrid("", sshOptions: []))
        #expect(b.power?.via == .labgrid && b.power?.offTime == .seconds(2))
        #expect(b.kernelLog == .ssh(path: "/dev/kmsg"), "the board's own kernel log, over ssh to the place's NetworkService")
        #expect(b.power?.standsAlone == false)
    }

    @Test("a place from LG_PLACE: the block may be empty")
    func emptyBlock() throws {
        let b = try ConfigLoader.parseBoard(text: "name: lab\nlabgrid: {}\nlink: {device: /dev/ttyRPMSG30}\n", file: "board.yaml")
        #expect(b.labgrid == LabgridConfig())
    }

    @Test("mistakes name file, line and column")
    func errors() {
        let power = boardError("name: lab\nlink: {device: /dev/ttyRPMSG30}\npower: {kind: labgrid}\n")
        #expect(power?.line == 3 && power?.message.contains("labgrid: block") == true, "\(String(describing: power))")
        let badPlace = boardError("name: lab\nlabgrid: {place: '-x'}\nlink: {device: /dev/ttyRPMSG30}\n")
        #expect(badPlace?.line == 2 && badPlace?.message.contains("place name") == true, "\(String(describing: badPlace))")
        let sim = boardError("name: lab\nlabgrid: {place: a}\nlink: {device: sim}\n")
        #expect(sim?.line == 3 && sim?.message.contains("absolute path of the tty on the board") == true, "a place is real hardware: \(String(describing: sim))")
        let unsafe = boardError("name: lab\nlabgrid: {place: a}\nlink: {device: '/dev/tty*;reboot'}\n")
        #expect(unsafe?.message.contains("a glob on the board may hold only") == true, "\(String(describing: unsafe))")
        let noUart = boardError("name: lab\nlink: {device: /dev/ttyRPMSG30}\nuart: {baud: 115200}\n")
        #expect(noUart?.message.contains("tcp: host:port") == true, "without a place a UART needs a device: \(String(describing: noUart))")
        let badTcp = boardError("name: lab\nlink: {device: /dev/ttyRPMSG30}\nuart: {tcp: exporter}\n")
        #expect(badTcp?.line == 3 && badTcp?.message.contains("host:port") == true, "\(String(describing: badTcp))")
    }

    @Test("a UART over TCP (ser2net) anywhere: uart: {tcp: host:port}")
    func tcpUart() throws {
        let b = try ConfigLoader.parseBoard(text: "name: lab\nlink: {device: /dev/ttyRPMSG30}\nuart: {tcp: 'exporter-01:5001'}\n", file: "board.yaml")
        #expect(b.uart?.location == .tcp(host: "exporter-01", port: 5001))
        #expect(ConfigLoader.hostPort("[::1]:99")?.1 == 99 && ConfigLoader.hostPort("h:0") == nil && ConfigLoader.hostPort(":5") == nil)
    }

    @Test("the timeline keeps the place and both kinds of location; they read back equal")
    func timelineJSON() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        let json = try BoardTimelineCompatibilityTests.timelineJSON(b)
        #expect(json.contains(#""labgrid":{"client":"labgrid-client","coordinator":"lab-coordinator:20408","place":"imx8mp-01"}"#), "\(json)")
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(json) == b)
        var tcp = b
        tcp.uart?.location = .tcp(host: "127.0.0.1", port: 4001)
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(try BoardTimelineCompatibilityTests.timelineJSON(tcp)) == tcp)
    }
}

@Suite("Telnet commands taken out of a serial stream in place (ser2net, RFC 2217)")
struct TelnetFilterInPlaceTests {
    func filtered(_ chunks: [[UInt8]]) -> [UInt8] {
        var f = TelnetFilter()
        var out: [UInt8] = []
        for chunk in chunks {
            var bytes = chunk
            let n = bytes.withUnsafeMutableBytes { f.filter($0, count: $0.count) }
            out += bytes[..<n]
        }
        return out
    }

    @Test("negotiation, subnegotiation and an escaped 0xFF, also split across reads")
    func filters() {
        let negotiation: [UInt8] = [0xFF, 0xFB, 0x01, 0xFF, 0xFD, 0x2C, 0xFF, 0xFA, 0x2C, 0x01, 0x00, 0x01, 0xC2, 0x00, 0xFF, 0xF0]
        #expect(filtered([negotiation + Array("boot\n".utf8)]) == Array("boot\n".utf8))
        #expect(filtered([[0x41, 0xFF], [0xFF, 0x42]]) == [0x41, 0xFF, 0x42], "IAC IAC is one 0xFF of data")
        // Split in every place.
        let stream = Array("ab".utf8) + negotiation + Array("cd".utf8)
        for cut in 0...stream.count {
            #expect(filtered([Array(stream[..<cut]), Array(stream[cut...])]) == Array("abcd".utf8), "cut at \(cut)")
        }
    }
}

@Suite("The uart: block names its port one way")
struct UartOneWayTests {
    @Test("device and match together are an error at match")
    func deviceAndMatch() {
        let e = boardError("name: lab\nlink: {device: /dev/ttyRPMSG30}\nuart:\n  device: /dev/ttyUSB2\n  match: {ID_SERIAL_SHORT: X}\n")
        #expect(e?.line == 5 && e?.message.contains("either device or match") == true, "\(String(describing: e))")
    }
}
