// swift-tools-version: 6.0
import PackageDescription

/// One list of settings for every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")

/// A service is a library (its builder, which tests call) and a thin executable named `undersigned-<name>`.
func service(_ name: String, dependencies: [Target.Dependency]) -> [Target] {
    [
        .target(
            name: name,
            dependencies: dependencies,
            path: "Services/\(name)/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "\(name)Main",
            dependencies: [.target(name: name), "ServiceSupport", lifecycle, logging,
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Services/\(name)/Main",
            swiftSettings: swiftSettings
        ),
    ]
}

func binary(_ name: String) -> Product {
    .executable(name: "undersigned-\(name.lowercased())", targets: ["\(name)Main"])
}

let package = Package(
    name: "undersigned",
    platforms: [.macOS(.v15)],
    products: [
        binary("Intake"), binary("Dedup"), binary("Tally"), binary("Delivery"),
        .executable(name: "undersigned", targets: ["CtlMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // C libraries, behind one door each.
        .systemLibrary(
            name: "CRabbitMQ", path: "Shared/CRabbitMQ", pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "CAMQPShim", dependencies: ["CRabbitMQ"], path: "Shared/CAMQPShim"),

        // Shared libraries.
        .target(
            name: "Models",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/Models",
            exclude: ["Schemas"],
            swiftSettings: swiftSettings
        ),
        // What owns a connection on a thread of its own: one lifecycle, one back-off.
        .target(name: "IOCore", dependencies: [lifecycle], path: "Shared/IOCore", swiftSettings: swiftSettings),
        .target(
            name: "AMQP",
            dependencies: ["CRabbitMQ", "CAMQPShim", "IOCore", lifecycle, logging, metrics, .product(name: "DequeModule", package: "swift-collections")],
            path: "Shared/AMQP",
            swiftSettings: swiftSettings
        ),
        // Undersigned's own exchanges, queues, broker accounts and message contracts, over the generic AMQP layer.
        .target(name: "Messaging", dependencies: ["AMQP", "Models"], path: "Shared/Messaging", swiftSettings: swiftSettings),
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ", "IOCore", lifecycle, logging],
            path: "Shared/Postgres",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Store",
            dependencies: ["Postgres", "Models", logging],
            path: "Shared/Store",
            swiftSettings: swiftSettings
        ),
        // Pages for people: templates and message catalogues as data files, the QR encoder.
        .target(
            name: "Pages",
            dependencies: [
                "Models",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/Pages",
            resources: [.copy("Templates"), .copy("Catalogues")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ServiceSupport",
            dependencies: [
                "AMQP", "IOCore", "Messaging", "Postgres", "Models", "Store", hummingbird, lifecycle, logging, metrics,
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ] + nio,
            path: "Shared/ServiceSupport",
            swiftSettings: swiftSettings
        ),
    ]
        + service("Intake", dependencies: [
            "ServiceSupport", "Pages", "AMQP", "Messaging", "Postgres", "Store", "Models", hummingbird, lifecycle, logging, metrics,
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ])
        + service("Dedup", dependencies: ["ServiceSupport", "AMQP", "Messaging", "Postgres", "Store", "Models", lifecycle, logging, metrics])
        + service("Tally", dependencies: [
            "ServiceSupport", "Pages", "AMQP", "Messaging", "Postgres", "Store", "Models", hummingbird, lifecycle, logging, metrics,
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ])
        + service("Delivery", dependencies: [
            "ServiceSupport", "Pages", "IOCore", "AMQP", "Messaging", "Postgres", "Store", "Models", lifecycle, logging, metrics,
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ] + nio)
        + service("Ctl", dependencies: [
            "ServiceSupport", "Pages", "AMQP", "Messaging", "Postgres", "Store", "Models", logging,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ] + nio)
        + [
            .testTarget(
                name: "ModelsTests", dependencies: ["Models"], path: "Tests/ModelsTests", exclude: ["Corpus"],
                swiftSettings: swiftSettings
            ),
            .testTarget(
                name: "UnitTests",
                dependencies: [
                    "AMQP", "IOCore", "Messaging", "Postgres", "ServiceSupport", "Store", "Intake", "Dedup", "Tally", "Delivery", "Pages", "Ctl",
                    .product(name: "NIOEmbedded", package: "swift-nio"),
                ],
                path: "Tests/UnitTests",
                swiftSettings: swiftSettings
            ),
            .testTarget(
                name: "IntegrationTests",
                dependencies: [
                    "AMQP", "Messaging", "Postgres", "Store", "Models", "ServiceSupport",
                    "Intake", "Dedup", "Tally", "Delivery", lifecycle, logging,
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                ] + nio,
                path: "Tests/IntegrationTests",
                swiftSettings: swiftSettings
            ),
        ]
)
