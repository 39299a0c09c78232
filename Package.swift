// swift-tools-version:6.1
import PackageDescription

// One set of settings for every target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // An import says what a file uses, and what a module's API exposes of another.
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "CaseHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "casehub", targets: ["casehub"]),
        .executable(name: "casehub-bench", targets: ["CaseHubBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.21.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // Hummingbird's HTTP types; named directly where a file uses them.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        // Tests only: reads Schemas/openapi.yaml for the HTTP contract test.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: [
        // C libraries: one tiny module each, angle-bracket includes only.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // Safe Swift wrappers, no domain knowledge.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Retrying work that must not be dropped, with a growing wait.
        .target(
            name: "Backoff",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The CloudEvents Kafka binding over the Kafka module's record types.
        .target(
            name: "CloudEventsKafka",
            dependencies: ["CaseModel", "Kafka"],
            swiftSettings: swiftSettings
        ),

        // Pure domain: no I/O.
        .target(
            name: "CaseModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "HubStore",
            dependencies: [
                "CaseModel", "Postgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Hub",
            dependencies: [
                "Backoff", "CaseHubMetrics", "CaseModel", "CloudEventsKafka", "HubStore", "Kafka", "Postgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Adapters",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "Backoff", "CaseHubMetrics", "CaseModel", "CloudEventsKafka", "HTTPCommon", "HubStore", "Kafka",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Native/Tables")],
            swiftSettings: swiftSettings
        ),
        // The process's Prometheus metrics (swift-prometheus registry, no global state).
        .target(
            name: "CaseHubMetrics",
            dependencies: [.product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: swiftSettings
        ),
        // RFC 9457 problem details and JSON responses, shared by the agencies' and the administrators' APIs.
        .target(
            name: "HTTPCommon",
            dependencies: [
                "CaseModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AdminAPI",
            dependencies: [
                "CaseHubMetrics", "CaseModel", "HTTPCommon", "HubStore", "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Dashboard")],
            swiftSettings: swiftSettings
        ),
        // Wires the parts into one runnable stack; the CLI and end-to-end tests share it.
        .target(
            name: "CaseHubServer",
            dependencies: [
                "Adapters", "AdminAPI", "CaseHubMetrics", "CaseModel", "HTTPCommon", "Hub", "HubStore", "Kafka", "Postgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "casehub",
            dependencies: [
                "Adapters", "AdminAPI", "CaseHubServer", "CaseModel", "Hub", "HubStore", "Kafka", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // `make bench`: broker and SQL ceilings against the hub end to end.
        .executableTarget(
            name: "CaseHubBench",
            dependencies: [
                "CaseModel", "CloudEventsKafka", "Hub", "HubStore", "Kafka", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "CaseModelTests",
            dependencies: ["CaseModel", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaseHubServerTests",
            dependencies: [
                "Adapters", "CaseHubMetrics", "CaseHubServer", "CaseModel", "Hub", "HubStore", "Kafka", "Postgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The repository itself: documents name only files it has; code spells
        // no event type or refusal code out.
        .testTarget(
            name: "RepositoryTests",
            dependencies: ["CaseModel", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        // The stores against the test database, no broker or hub.
        .testTarget(
            name: "HubStoreTests",
            dependencies: [
                "CaseModel", "HubStore", "Postgres", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agencies' HTTP layer in-process (HummingbirdTesting's router mode):
        // authentication, limits, problem documents, refusals reported. No broker, no database.
        .testTarget(
            name: "AdaptersTests",
            dependencies: [
                "Adapters", "CaseHubMetrics", "CaseModel", "HTTPCommon", "HubStore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: ["Postgres", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Adapters", "CaseHubServer", "CaseModel", "HTTPCommon", "Hub", "HubStore", "Kafka", "Postgres", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Hub processes killed, the database restarted: run apart from the rest (Deploy/local/test.sh).
        .testTarget(
            name: "FaultTests",
            dependencies: [
                "CaseModel", "HubStore", "Kafka", "Postgres", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Finds the test broker and database started by `make test`.
        .target(
            name: "TestSupport",
            dependencies: ["CaseModel", "Postgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
    ]
)
