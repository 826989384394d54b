import ServiceSupport

/// Intake's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct IntakeConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_INTAKE_HOST`, default `0.0.0.0`.
    public var host: String
    /// `UNDERSIGNED_INTAKE_PORT`, default 8080 (0 picks a free port; tests).
    public var port: Int
    /// `UNDERSIGNED_ENVELOPE_SIZE`: most signatures grouped into one envelope, default 500 (1...1000).
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
            envelopeSize: reader.int("UNDERSIGNED_ENVELOPE_SIZE", default: 500, in: 1...1000),
            envelopeDelay: reader.milliseconds("UNDERSIGNED_ENVELOPE_DELAY_MS", default: .milliseconds(2), in: 0...1000),
            publishWindow: reader.int("UNDERSIGNED_PUBLISH_WINDOW", default: 256, in: 1...10_000),
            publishTimeout: reader.milliseconds("UNDERSIGNED_PUBLISH_TIMEOUT_MS", default: .seconds(10), in: 100...600_000),
            maximumWaitingEnvelopes: reader.int("UNDERSIGNED_MAX_WAITING_ENVELOPES", default: 1000, in: 1...1_000_000))
        partnerBatchMaximumRows = reader.int("UNDERSIGNED_PARTNER_BATCH_MAX_ROWS", default: 100_000, in: 1...10_000_000)
        partnerBatchMaximumBytes = reader.int("UNDERSIGNED_PARTNER_BATCH_MAX_MIB", default: 64, in: 1...4096) << 20
        try reader.finish()
    }
}
