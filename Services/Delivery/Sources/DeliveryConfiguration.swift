import Foundation
import Models
import ServiceSupport

/// Delivery's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct DeliveryConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_DELIVERY_OPS_PORT`: health and metrics, default 8083.
    public var opsPort: Int
    /// `UNDERSIGNED_WEBHOOK_RETRY_BASE_MS` (default 2 s, doubling per attempt up to 5 min) and
    /// `UNDERSIGNED_WEBHOOK_GIVE_UP_MS` (default 24 h): how webhook calls are retried, and for how long.
    public var webhookRetryBase: Duration = .seconds(2)
    public var webhookGiveUp: Duration = .seconds(86_400)
    /// `UNDERSIGNED_DELIVERY_SPOOL`: where packages are built (default `$TMPDIR/undersigned-deliveries-<instance>`).
    /// Scratch space: everything in it can be rebuilt from the database.
    public var spool: URL
    /// `UNDERSIGNED_DELIVERY_GIVE_UP_MS` (default 3 days): how long a delivery is tried before it fails.
    public var deliveryGiveUp: Duration = .seconds(3 * 86_400)
    /// `UNDERSIGNED_DELIVERY_LEASE_MS` (default 60 s): a crashed instance's delivery is taken up after this.
    public var deliveryLease: Duration = .seconds(60)
    /// `UNDERSIGNED_DELIVERY_SCHEDULE_MS` (default 60 s): how often daily and closing deliveries are looked for.
    public var scheduleInterval: Duration = .seconds(60)
    /// `UNDERSIGNED_SMTP_URL` (`smtp://user:password@relay:587`), `UNDERSIGNED_SMTP_SECURITY` (starttls,
    /// the default, or none), `UNDERSIGNED_SMTP_FROM`, `UNDERSIGNED_SMTP_CA_FILE`: the relay e-mail goes
    /// through. Without a URL, e-mail deliveries wait (and say why).
    var smtp: SMTPSettings?
    /// `UNDERSIGNED_DATA_KEYS`, `UNDERSIGNED_VERIFICATION_SECRET` and `common.publicURL`
    /// (`UNDERSIGNED_PUBLIC_URL`): what the signer verification mails need.
    var sealer: ContactSealer?
    /// `UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS`: comma-separated CIDR networks webhooks may call although they
    /// are internal (and over plain http); default none: https to public addresses only.
    var outbound = OutboundPolicy()
    var verificationTokens: VerificationToken?
    /// `UNDERSIGNED_SMTP_MAX_ATTACHMENT_MIB` (default 20): larger packages are not e-mailed.
    public var maximumAttachmentBytes: Int64 = 20 << 20

    public init(common: CommonConfiguration, opsPort: Int = 8083, spool: URL? = nil) {
        self.common = common
        self.opsPort = opsPort
        // One per instance by default: delivery empties its spool of leftovers at start.
        self.spool = spool ?? FileManager.default.temporaryDirectory.appendingPathComponent("undersigned-deliveries-\(common.instance)")
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        self.init(
            common: CommonConfiguration(service: "delivery", reader: reader),
            opsPort: reader.port("UNDERSIGNED_DELIVERY_OPS_PORT", default: 8083),
            spool: reader.optionalString("UNDERSIGNED_DELIVERY_SPOOL").map { URL(fileURLWithPath: $0, isDirectory: true) })
        webhookRetryBase = reader.milliseconds("UNDERSIGNED_WEBHOOK_RETRY_BASE_MS", default: .seconds(2), in: 10...3_600_000)
        webhookGiveUp = reader.milliseconds("UNDERSIGNED_WEBHOOK_GIVE_UP_MS", default: .seconds(86_400), in: 100...2_592_000_000)
        deliveryGiveUp = reader.milliseconds("UNDERSIGNED_DELIVERY_GIVE_UP_MS", default: .seconds(3 * 86_400), in: 100...2_592_000_000)
        deliveryLease = reader.milliseconds("UNDERSIGNED_DELIVERY_LEASE_MS", default: .seconds(60), in: 1_000...3_600_000)
        scheduleInterval = reader.milliseconds("UNDERSIGNED_DELIVERY_SCHEDULE_MS", default: .seconds(60), in: 100...86_400_000)
        maximumAttachmentBytes = Int64(reader.int("UNDERSIGNED_SMTP_MAX_ATTACHMENT_MIB", default: 20, in: 1...1024)) << 20
        do {
            outbound.allowedNetworks = try IPNetwork.list(reader.string("UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS", default: ""))
        } catch {
            reader.problem("UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS: \(error.reason)")
        }
        if let keys = reader.optionalString("UNDERSIGNED_DATA_KEYS") {
            do { sealer = try ContactSealer(keys: keys) } catch { reader.problem(error.reason) }
        }
        if reader.optionalString("UNDERSIGNED_VERIFICATION_SECRET") != nil {
            verificationTokens = VerificationToken(secret: reader.secret("UNDERSIGNED_VERIFICATION_SECRET"))
        }
        let security = reader.string("UNDERSIGNED_SMTP_SECURITY", default: "starttls")
        let from = reader.string("UNDERSIGNED_SMTP_FROM", default: "petitions@undersigned.invalid")
        let caFile = reader.optionalString("UNDERSIGNED_SMTP_CA_FILE")
        if let mode = SMTPSettings.Security(rawValue: security) {
            do {
                smtp = try reader.optionalString("UNDERSIGNED_SMTP_URL").map { try SMTPSettings(url: $0, security: mode, from: from, caFile: caFile) }
            } catch {
                reader.problem("\(error)")
            }
        } else {
            reader.problem("UNDERSIGNED_SMTP_SECURITY must be starttls or none")
        }
        try reader.finish()
    }
}
