// swift-tools-version: 6.1
import PackageDescription
#if canImport(Glibc)
import Glibc
#endif

// Release on Linux: libstdc++ linked in statically (and libgcc's unwinder with it), so the tester
// loads neither libstdc++.so.6 nor libgcc_s.so.1: about 1 MB less resident memory, --help
// 11.7 -> 10.7 MB, a bench.yaml soak 20.7 -> 19.5 MB (Benchmarks/README.md). The Swift runtime,
// Foundation and ICU linked in by --static-swift-stdlib are what use it. -static-libstdc++ cannot
// do it: swiftc links through clang (not clang++), which ignores that flag, and the static
// stdlib's own link line asks for -lstdc++ first anyway. So linker/static-libstdc++, put first in
// the library search path, holds a linker script named libstdc++.so that -lstdc++ finds before
// the real one and that names libstdc++.a instead, found in the compiler's GCC directory whatever
// its version or architecture (the script says how). libstdc++ and libgcc are GPLv3 with the GCC
// Runtime Library Exception: a binary compiled by clang/swiftc with them linked in may be
// distributed under any terms, as with the shared libraries.
// Where no libstdc++.a is installed (Debian and Ubuntu's libstdc++-N-dev always ship it; Fedora
// wants libstdc++-static) the link stays as before instead of failing. That test looks at this
// machine: a cross build's sysroot needs its own libstdc++.a.
let staticLibstdcxx: [LinkerSetting] = {
    #if canImport(Glibc)
    var found = glob_t()
    defer { globfree(&found) }
    guard glob("/usr/lib/gcc/*/*/libstdc++.a", 0, nil, &found) == 0 else { return [] }
    return [.unsafeFlags(["-Xclang-linker", "-L\(Context.packageDirectory)/linker/static-libstdc++",
                          "-Xclang-linker", "-static-libgcc"],
                         .when(platforms: [.linux], configuration: .release))]
    #else
    return []
    #endif
}()

let package = Package(
    name: "rpmsg-soak",
    products: [
        .executable(name: "rpmsg-soak", targets: ["rpmsg-soak"]),
        .library(name: "SoakCore", targets: ["SoakCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // System libraries: the GPIO relay (libgpiod v1 or v2) and device discovery (libudev).
        .systemLibrary(name: "CGpiod", pkgConfig: "libgpiod",
                       providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev",
                       providers: [.apt(["libudev-dev"])]),
        // The few POSIX calls Glibc's Swift overlay does not expose cleanly (termios, pty helpers).
        .target(name: "CPosix"),
        // One GPIO line API over libgpiod v1 and v2, chosen at build time from <gpiod.h>.
        .target(name: "CGpioLine", dependencies: ["CGpiod"]),

        // WHAT to do: pure domain logic, no syscalls.
        .target(name: "SoakCore", dependencies: [
            .product(name: "Yams", package: "Yams"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // HOW to talk to real devices.
        .target(name: "SoakLinux", dependencies: ["SoakCore", "CPosix", "CGpioLine", "CUdev"]),
        // A simulated i.MX8M Plus behind a real pty: the same contracts in software.
        .target(name: "BoardSimulator", dependencies: ["SoakCore", "SoakLinux", "CPosix"]),
        // WHAT HAPPENED: the timeline and every report derived from it.
        .target(name: "SoakReports", dependencies: [
            "SoakCore",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // The command line: parse, load, wire, run.
        .executableTarget(name: "rpmsg-soak", dependencies: [
            "SoakCore", "SoakLinux", "BoardSimulator", "SoakReports", "CPosix",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // Release: a position-dependent executable that exports no symbols. The loader then
            // relocates nothing of the static Swift runtime and Foundation (1.9 MB of relocations
            // read and about 1 MB of pages dirtied at every start) and looks up no 200 KB symbol
            // table: about 2.5 MB less resident memory on the board (issue 14; Benchmarks/README.md).
            // The price: this one binary loads at a fixed address (its libraries, heap and stack
            // are still randomised).
            .unsafeFlags(["-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic"],
                         .when(platforms: [.linux], configuration: .release)),
        ] + staticLibstdcxx),

        // What several test targets share (waiting for blocking work off the test pool).
        .target(name: "TestSupport", path: "Tests/Support"),
        .testTarget(name: "SoakCoreTests", dependencies: ["SoakCore"]),
        .testTarget(name: "SoakLinuxTests", dependencies: ["SoakLinux", "SoakCore", "CPosix", "TestSupport"]),
        .testTarget(name: "BoardSimulatorTests", dependencies: ["BoardSimulator", "SoakLinux", "SoakCore", "SoakReports", "TestSupport"]),
        .testTarget(name: "SoakReportsTests", dependencies: ["SoakReports", "SoakCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EndToEndTests", dependencies: ["SoakCore", "SoakLinux", "BoardSimulator", "TestSupport"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
