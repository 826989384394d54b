import Models
import ServiceSupport

/// Dedup's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct DedupConfiguration: Sendable {
    /// Each default, written once: the initialiser, the environment and the handler read them from here.
    public enum Defaults {
        public static let opsPort = 8082
        /// Per consumer; a batch is at most this many envelopes (the broker sends no more ahead).
        public static let prefetch = 32
        public static let batchSize = prefetch
        public static let consumers = 2
        public static let partnerRefresh = Duration.seconds(5)
        public static let verificationTime = Duration.seconds(48 * 3600)
        public static let rulesRefresh = Duration.seconds(5)
    }

    public var common: CommonConfiguration
    /// Signer identities, keyed by `UNDERSIGNED_SIGNER_SECRET` (required; hex or base64, 32+ bytes), parsed
    /// once here. Changing the secret makes every signer new again: keep it for the life of the campaign.
    public var keys: SignerKeyMaker
    /// `UNDERSIGNED_DEDUP_OPS_PORT`: health and metrics, default 8082.
    public var opsPort: Int
    /// `UNDERSIGNED_DEDUP_PREFETCH`, default 32 per consumer (a partner envelope can hold 1,000 signatures);
    /// `UNDERSIGNED_DEDUP_BATCH`, envelopes per transaction, default 32 and at most the prefetch (the broker
    /// sends no more ahead, so a larger batch could never fill).
    public var prefetch: Int
    public var batchSize: Int
    /// `UNDERSIGNED_DEDUP_CONSUMERS`, default 2: batches in progress at once in this instance (each its own
    /// broker connection and prefetch).
    public var consumers: Int
    /// `UNDERSIGNED_DEDUP_PARTNER_REFRESH_MS`: how often the list of partners (whose queues dedup consumes)
    /// is read, default 5 s. A new partner's first envelopes wait in its queue at most this long.
    public var partnerRefresh: Duration = Defaults.partnerRefresh
    /// Seals consenting signers' addresses, with the keys of `UNDERSIGNED_DATA_KEYS` (parsed once here);
    /// nil when unset: then no address is kept at all.
    public var sealer: ContactSealer?
    /// `UNDERSIGNED_VERIFICATION_TTL_S`: how long a signer of a petition that requires it has to confirm
    /// (default 48 h); unconfirmed signatures are removed after it.
    public var verificationTime: Duration = Defaults.verificationTime
    /// `UNDERSIGNED_DEDUP_RULES_REFRESH_MS`: how often the e-mail domain rules are read (default 5 s).
    public var rulesRefresh: Duration = Defaults.rulesRefresh

    public init(
        common: CommonConfiguration, keys: SignerKeyMaker, opsPort: Int = Defaults.opsPort, prefetch: Int = Defaults.prefetch,
        batchSize: Int = Defaults.batchSize, consumers: Int = Defaults.consumers
    ) {
        self.common = common
        self.keys = keys
        self.opsPort = opsPort
        self.prefetch = prefetch
        self.batchSize = batchSize
        self.consumers = consumers
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        let common = CommonConfiguration(service: "dedup", reader: reader)
        let secret = reader.secret("UNDERSIGNED_SIGNER_SECRET")
        let opsPort = reader.port("UNDERSIGNED_DEDUP_OPS_PORT", default: Defaults.opsPort)
        let prefetch = reader.int("UNDERSIGNED_DEDUP_PREFETCH", default: Defaults.prefetch, in: 1...2000)
        let consumers = reader.int("UNDERSIGNED_DEDUP_CONSUMERS", default: Defaults.consumers, in: 1...16)
        // Unset, the batch is the prefetch; set above it, it could never fill: said at start, not found later.
        let batchSize = reader.int("UNDERSIGNED_DEDUP_BATCH", default: min(Defaults.batchSize, prefetch), in: 1...1000)
        if batchSize > prefetch {
            reader.problem("UNDERSIGNED_DEDUP_BATCH (\(batchSize)) must be at most UNDERSIGNED_DEDUP_PREFETCH (\(prefetch)): the broker sends no more ahead")
        }
        let partnerRefresh = reader.milliseconds("UNDERSIGNED_DEDUP_PARTNER_REFRESH_MS", default: Defaults.partnerRefresh, in: 100...600_000)
        let verificationTime = Duration.seconds(reader.int(
            "UNDERSIGNED_VERIFICATION_TTL_S", default: Int(Defaults.verificationTime.components.seconds), in: 5...2_592_000))
        var sealer: ContactSealer?
        if let dataKeys = reader.optionalString("UNDERSIGNED_DATA_KEYS") {
            do { sealer = try ContactSealer(keys: dataKeys) } catch { reader.problem(error.reason) }
        }
        let rulesRefresh = reader.milliseconds("UNDERSIGNED_DEDUP_RULES_REFRESH_MS", default: Defaults.rulesRefresh, in: 100...600_000)
        try reader.finish()
        // Past finish() the secret is 32 bytes or more, all the key maker asks of it.
        self.init(
            common: common, keys: try SignerKeyMaker(secret: secret), opsPort: opsPort, prefetch: prefetch, batchSize: batchSize,
            consumers: consumers)
        self.sealer = sealer
        self.partnerRefresh = partnerRefresh
        self.verificationTime = verificationTime
        self.rulesRefresh = rulesRefresh
    }
}
