import Foundation
import Testing
@testable import SoakCore

@Suite("A link over ssh in a board file")
struct SshLinkConfigTests {
    static let board = """
        name: lab
        link: {ssh: root@imx8mp-01, device: /dev/ttyRPMSG30, ssh_options: [-p, "2222", -i, key]}
        """

    @Test("ssh, device and ssh_options make the ssh location, described as check prints it")
    func parses() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        #expect(b.link.location == .ssh(SshTarget(destination: "root@imx8mp-01", device: "/dev/ttyRPMSG30",
                                                   options: ["-p", "2222", "-i", "key"])))
        #expect("\(b.link.location)" == "root@imx8mp-01:/dev/ttyRPMSG30 over ssh")
        #expect(b.kernelLog == .unwatched, "the board's kmsg is not read over ssh yet; the host's is not the board's")
        #expect(!b.isSimulated && b.power == nil && b.uart == nil)
    }

    @Test("mistakes name file, line and column")
    func errors() {
        let noDevice = boardError("name: lab\nlink:\n  ssh: root@imx8mp-01\n")
        #expect(noDevice?.description.hasPrefix("board.yaml:3:3") == true, "\(String(describing: noDevice))")
        #expect(noDevice?.message.contains("ssh needs device") == true, "\(String(describing: noDevice))")
        let unknown = boardError("name: lab\nlink:\n  ssh: root@imx8mp-01\n  device: /dev/ttyRPMSG30\n  ssh_opts: [-p, '22']\n")
        #expect(unknown?.line == 5 && unknown?.key.contains("ssh_opts") == true, "\(String(describing: unknown))")
        let relative = boardError("name: lab\nlink: {ssh: root@b, device: ttyRPMSG30}\n")
        #expect(relative?.line == 2 && relative?.message.contains("absolute path of the tty on the board") == true)
        let option = boardError("name: lab\nlink: {ssh: -oProxyCommand=x, device: /dev/ttyRPMSG30}\n")
        #expect(option?.message.contains("ssh destination") == true)
        let withMatch = boardError("name: lab\nlink: {ssh: root@b, device: /dev/ttyRPMSG30, match: {A: b}}\n")
        #expect(withMatch?.key.contains("match") == true)
        let optionsAlone = boardError("name: lab\nlink: {device: /dev/ttyUSB0, ssh_options: [-p, '22']}\n")
        #expect(optionsAlone?.key.contains("ssh_options") == true)
        let simUart = boardError(Self.board + "\nuart: {device: sim}\n")
        #expect(simUart != nil)
    }

    @Test("its JSON adds ssh and ssh_options to the link, and reads back")
    func json() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        let json = try BoardTimelineCompatibilityTests.timelineJSON(b)
        #expect(json.contains(#""link":{"device":"/dev/ttyRPMSG30","setup":[],"setup_timeout":"30s","ssh":"root@imx8mp-01","ssh_options":["-p","2222","-i","key"]}"#), "\(json)")
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(json) == b)
        var plain = b
        plain.link.location = .ssh(SshTarget(destination: "b", device: "/dev/ttyRPMSG30"))
        #expect(!(try BoardTimelineCompatibilityTests.timelineJSON(plain)).contains("ssh_options"))
    }
}
