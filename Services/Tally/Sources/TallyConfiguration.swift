import ServiceSupport

/// Tally's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct TallyConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_TALLY_HOST`, default `0.0.0.0`; `UNDERSIGNED_TALLY_PORT`, the count API, default 8081.
    public var host: String
    public var port: Int
    /// `UNDERSIGNED_TALLY_OPS_PORT`, default 8085: `/health/*` and `/metrics`, apart from the public port (0: a free one).
    public var opsPort = 8085
    /// `UNDERSIGNED_TALLY_SHARD`: the counter shard this instance writes (0...63), default: derived from the
    /// instance name. Instances with different shards never wait on each other's counter rows.
    public var shard: Int
    /// `UNDERSIGNED_TALLY_PREFETCH`, default 200; `UNDERSIGNED_TALLY_BATCH`, messages per transaction, default 50.
    public var prefetch: Int
    public var batchSize: Int
    /// `UNDERSIGNED_ADMIN_TOKEN`: the bearer token of the admin endpoints (deliveries); unset, they answer 403.
    public var adminToken: String?
    /// `UNDERSIGNED_LIVE_STREAMS_PER_ADDRESS`: live streams one address (an IPv6 client's /64) may hold open,
    /// default 50 (0: no per-address cap, e.g. behind a proxy that is every screen's address); past it, 429.
    public var liveStreamsPerAddress = 50
    /// `UNDERSIGNED_LIVE_STREAMS_MAX`: live streams one instance holds, default 2,000 (about 32 KB each: a
    /// 128 MiB pod's worth); more screens poll `/count` or go through another instance.
    public var liveStreamsMaximum = 2_000

    public init(common: CommonConfiguration, host: String = "0.0.0.0", port: Int = 8081, shard: Int? = nil, prefetch: Int = 200, batchSize: Int = 50) {
        self.common = common
        self.host = host
        self.port = port
        self.shard = shard ?? Self.shard(for: common.instance)
        self.prefetch = prefetch
        self.batchSize = batchSize
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        let common = CommonConfiguration(service: "tally", reader: reader)
        self.init(
            common: common,
            host: reader.string("UNDERSIGNED_TALLY_HOST", default: "0.0.0.0"),
            port: reader.port("UNDERSIGNED_TALLY_PORT", default: 8081),
            shard: reader.int("UNDERSIGNED_TALLY_SHARD", default: Self.shard(for: common.instance), in: 0...63),
            prefetch: reader.int("UNDERSIGNED_TALLY_PREFETCH", default: 200, in: 1...2000),
            batchSize: reader.int("UNDERSIGNED_TALLY_BATCH", default: 50, in: 1...1000))
        adminToken = reader.optionalString("UNDERSIGNED_ADMIN_TOKEN")
        opsPort = reader.port("UNDERSIGNED_TALLY_OPS_PORT", default: 8085)
        if opsPort == port && port != 0 { reader.problem("UNDERSIGNED_TALLY_OPS_PORT must differ from UNDERSIGNED_TALLY_PORT (\(port))") }
        liveStreamsPerAddress = reader.int("UNDERSIGNED_LIVE_STREAMS_PER_ADDRESS", default: 50, in: 0...1_000_000)
        liveStreamsMaximum = reader.int("UNDERSIGNED_LIVE_STREAMS_MAX", default: 2_000, in: 1...1_000_000)
        try reader.finish()
    }

    /// A stable shard from a name (FNV-1a), so restarts of one instance keep writing the same rows.
    static func shard(for instance: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in instance.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Int(hash % 64)
    }
}
