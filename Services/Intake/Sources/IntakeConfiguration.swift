import Models
import ServiceSupport

/// Intake's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct IntakeConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_INTAKE_HOST`, default `0.0.0.0`.
    public var host: String
    /// `UNDERSIGNED_INTAKE_PORT`, default 8080 (0 picks a free port; tests).
    public var port: Int
    /// `UNDERSIGNED_INTAKE_OPS_PORT`, default 8084: `/health/*` and `/metrics`, apart from the public port (0: a free one).
    public var opsPort = 8084
    /// `UNDERSIGNED_ENVELOPE_SIZE`: most signatures grouped into one envelope, default 500 (1...500: 500 of the
    /// longest signatures stay under the 2 MiB dedup reads).
    public var envelopeSize: Int
    /// `UNDERSIGNED_ENVELOPE_DELAY_MS`: longest a signature waits for others to share its envelope, default 2 ms.
    public var envelopeDelay: Duration
    /// `UNDERSIGNED_PUBLISH_WINDOW`: unconfirmed messages in flight, default 256.
    public var publishWindow: Int
    /// `UNDERSIGNED_PUBLISH_TIMEOUT_MS`: longest a request waits for the broker's confirm before a 503, default 10 s.
    public var publishTimeout: Duration
    /// `UNDERSIGNED_MAX_WAITING_ENVELOPES`: envelopes waiting for the broker before new requests get 503 at once,
    /// default 1000. Bounds memory under any overload.
    public var maximumWaitingEnvelopes: Int
    /// `UNDERSIGNED_PARTNER_BATCH_MAX_ROWS`: most rows in one HTTP partner batch, default 100,000.
    public var partnerBatchMaximumRows: Int = 100_000
    /// `UNDERSIGNED_PARTNER_BATCH_MAX_MIB`: most bytes in one HTTP partner batch, default 64 MiB.
    public var partnerBatchMaximumBytes: Int = 64 << 20
    /// Abuse controls (`AbuseSettings`). From the environment: `UNDERSIGNED_RATE_PER_CLIENT_PER_MINUTE`
    /// (default 30, 0 = off) with `UNDERSIGNED_RATE_PER_CLIENT_BURST` (20); `UNDERSIGNED_RATE_PER_PETITION_PER_SECOND`
    /// (20,000, 0 = off; bursts of two seconds' worth); `UNDERSIGNED_ALLOW_NETWORKS` and `UNDERSIGNED_TRUSTED_PROXIES`
    /// (comma-separated CIDR); `UNDERSIGNED_TRENDING_WINDOW_S` (300; 0 = off), `UNDERSIGNED_TRENDING_SHARE_PERCENT` (20),
    /// `UNDERSIGNED_TRENDING_MIN` (200), `UNDERSIGNED_TRENDING_IGNORE_DOMAINS` (big providers; `none` for none);
    /// `UNDERSIGNED_BLOCKS_REFRESH_MS` (5000). In code the default limits nothing.
    public var abuse = AbuseSettings()
    /// `UNDERSIGNED_VERIFICATION_SECRET`: checks the links of signer verification mails; unset, `/v1/verify` answers 503.
    public var verificationTokens: VerificationToken?
    /// `UNDERSIGNED_ADMIN_TOKEN`: the bearer token of `GET /v1/ops/trending`; unset, it answers 403.
    public var adminToken: String?

    public init(common: CommonConfiguration, host: String = "0.0.0.0", port: Int = 8080, envelopeSize: Int = 500,
                envelopeDelay: Duration = .milliseconds(2), publishWindow: Int = 256, publishTimeout: Duration = .seconds(10),
                maximumWaitingEnvelopes: Int = 1000) {
        self.common = common
        self.host = host
        self.port = port
        self.envelopeSize = envelopeSize
        self.envelopeDelay = envelopeDelay
        self.publishWindow = publishWindow
        self.publishTimeout = publishTimeout
        self.maximumWaitingEnvelopes = maximumWaitingEnvelopes
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        self.init(
            common: CommonConfiguration(service: "intake", reader: reader),
            host: reader.string("UNDERSIGNED_INTAKE_HOST", default: "0.0.0.0"),
            port: reader.port("UNDERSIGNED_INTAKE_PORT", default: 8080),
            envelopeSize: reader.int("UNDERSIGNED_ENVELOPE_SIZE", default: 500, in: 1...500),
            envelopeDelay: reader.milliseconds("UNDERSIGNED_ENVELOPE_DELAY_MS", default: .milliseconds(2), in: 0...1000),
            publishWindow: reader.int("UNDERSIGNED_PUBLISH_WINDOW", default: 256, in: 1...10_000),
            publishTimeout: reader.milliseconds("UNDERSIGNED_PUBLISH_TIMEOUT_MS", default: .seconds(10), in: 100...600_000),
            maximumWaitingEnvelopes: reader.int("UNDERSIGNED_MAX_WAITING_ENVELOPES", default: 1000, in: 1...1_000_000))
        opsPort = reader.port("UNDERSIGNED_INTAKE_OPS_PORT", default: 8084)
        if opsPort == port && port != 0 { reader.problem("UNDERSIGNED_INTAKE_OPS_PORT must differ from UNDERSIGNED_INTAKE_PORT (\(port))") }
        partnerBatchMaximumRows = reader.int("UNDERSIGNED_PARTNER_BATCH_MAX_ROWS", default: 100_000, in: 1...10_000_000)
        partnerBatchMaximumBytes = reader.int("UNDERSIGNED_PARTNER_BATCH_MAX_MIB", default: 64, in: 1...4096) << 20
        adminToken = reader.optionalString("UNDERSIGNED_ADMIN_TOKEN")
        if reader.optionalString("UNDERSIGNED_VERIFICATION_SECRET") != nil {
            verificationTokens = VerificationToken(secret: reader.secret("UNDERSIGNED_VERIFICATION_SECRET"))
        }
        let perMinute = reader.int("UNDERSIGNED_RATE_PER_CLIENT_PER_MINUTE", default: 30, in: 0...1_000_000)
        let burst = reader.int("UNDERSIGNED_RATE_PER_CLIENT_BURST", default: 20, in: 1...1_000_000)
        abuse.perClient = perMinute == 0 ? nil : .init(perSecond: Double(perMinute) / 60, burst: Double(burst))
        let perSecond = reader.int("UNDERSIGNED_RATE_PER_PETITION_PER_SECOND", default: 20_000, in: 0...10_000_000)
        abuse.perPetition = perSecond == 0 ? nil : .init(perSecond: Double(perSecond), burst: Double(perSecond * 2))
        for (name, keyPath) in [("UNDERSIGNED_ALLOW_NETWORKS", \AbuseSettings.allowNetworks), ("UNDERSIGNED_TRUSTED_PROXIES", \AbuseSettings.trustedProxies)] {
            do {
                abuse[keyPath: keyPath] = try IPNetwork.list(reader.string(name, default: ""))
            } catch {
                reader.problem("\(name): \(error.reason)")
            }
        }
        abuse.trendingWindow = .seconds(reader.int("UNDERSIGNED_TRENDING_WINDOW_S", default: 300, in: 0...86_400))
        abuse.trendingShare = Double(reader.int("UNDERSIGNED_TRENDING_SHARE_PERCENT", default: 20, in: 1...100)) / 100
        abuse.trendingMinimum = reader.int("UNDERSIGNED_TRENDING_MIN", default: 200, in: 1...10_000_000)
        if let ignored = reader.optionalString("UNDERSIGNED_TRENDING_IGNORE_DOMAINS") {
            abuse.trendingIgnoredDomains = ignored == "none" ? [] : Set(ignored.split(separator: ",").map { $0.trimmingWhitespace().lowercased() })
        }
        abuse.blocksRefresh = reader.milliseconds("UNDERSIGNED_BLOCKS_REFRESH_MS", default: .seconds(5), in: 100...600_000)
        try reader.finish()
    }
}
