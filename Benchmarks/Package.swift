// swift-tools-version: 6.1
// The hot-path benchmarks, a package of their own so that `swift test` of the root package
// (and so CI) never builds package-benchmark and its dependencies.
//
//     cd Benchmarks && swift package --scratch-path .build-bench benchmark
import PackageDescription

let package = Package(
    name: "rpmsg-soak-benchmarks",
    dependencies: [
        .package(name: "rpmsg-soak", path: ".."),
        // The malloc interposer counts allocations; the runtime interposer (another default
        // trait) is left out.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SoakCore", package: "rpmsg-soak"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
