import AMQP
import Foundation
import Logging
import Messaging
import Metrics
import Models
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store
import Synchronization

/// Handles `Envelope` messages: decodes and validates each signature, derives signer keys, writes the
/// batch in one transaction, publishes `SignaturesAccepted` (new signatures and redeliveries) with
/// confirms, and only then lets the worker ack.
struct EnvelopeHandler: BatchHandler {
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let names: TopologyNames
    let keys: SignerKeyMaker
    let rules: EmailRulesBox
    /// Seals consenting signers' addresses; nil when no data key is configured (then none is kept).
    let sealer: ContactSealer?
    /// How long a signer of a petition that requires it has to confirm.
    var verificationTime: Duration = DedupConfiguration.Defaults.verificationTime
    let logger: Logger

    private let newSignatures = Counter(label: "undersigned_dedup_signatures_total", dimensions: [("result", "new")])
    private let duplicates = Counter(label: "undersigned_dedup_signatures_total", dimensions: [("result", "duplicate")])
    private let redelivered = Counter(label: "undersigned_dedup_signatures_total", dimensions: [("result", "redelivered")])
    private let invalid = Counter(label: "undersigned_dedup_signatures_total", dimensions: [("result", "invalid")])
    private let unknown = Counter(label: "undersigned_dedup_signatures_total", dimensions: [("result", "unknown_petition")])

    init(pool: PostgresPool, publisher: AMQPPublisher, names: TopologyNames, keys: SignerKeyMaker, rules: EmailRulesBox = EmailRulesBox(),
         sealer: ContactSealer? = nil, logger: Logger) {
        self.pool = pool
        self.publisher = publisher
        self.names = names
        self.keys = keys
        self.rules = rules
        self.sealer = sealer
        self.logger = logger
    }

    /// Events per `SignaturesAccepted` message.
    static let eventsPerMessage = 1000

    func handle(_ deliveries: [Delivery]) async throws -> [DeadLetter] {
        let rules = self.rules.current  // one set of rules for the whole batch
        var dead: [DeadLetter] = []
        var rows: [SignatureRow] = []
        var rejected: [RejectedRow] = []
        var partnerEnvelopes: [PartnerEnvelope] = []
        // Partners named only by their routing key (tools that cannot set user_id) must exist.
        let named = Set(deliveries.compactMap { delivery -> String? in
            guard delivery.exchange == names.partnersExchange, delivery.properties.userID?.isEmpty ?? true else { return nil }
            return Self.routingKeyPartner(delivery.routingKey)
        })
        let (knownPartners, verifying) = try await pool.withConnection { connection in
            (named.isEmpty ? [] : try Partners.existing(named, on: connection), try SignatureStore.verifyingPetitions(on: connection))
        }
        for delivery in deliveries {
            switch read(delivery, knownPartners: knownPartners, rules: rules, verifying: verifying) {
            case .success(let envelope):
                rows += envelope.rows
                rejected += envelope.rejected
                if let partner = envelope.partner { partnerEnvelopes.append(partner) }
            case .failure(let letter): dead.append(letter)
            }
        }
        guard !rows.isEmpty || !rejected.isEmpty else { return dead }
        invalid.increment(by: rejected.count)
        let (outcome, receipts) = try await pool.transaction { [rows, rejected, partnerEnvelopes, verifying, verificationTime] connection in
            let outcome = try SignatureStore.insert(rows, rejected: rejected, verifying: verifying, verificationTime: verificationTime, on: connection)
            let receipts = PartnerEnvelope.receipts(partnerEnvelopes, rows: rows, rejected: rejected, outcome: outcome)
            try SignatureStore.record(receipts, on: connection)
            return (outcome, receipts)
        }
        let messages = SignaturesAccepted.messages(outcome.accepted, perMessage: Self.eventsPerMessage, names, from: .dedup)
            + receipts.map { $0.1.message(names) }
        try await publisher.publish(messages)
        newSignatures.increment(by: outcome.newCount)
        duplicates.increment(by: outcome.duplicateCount)
        redelivered.increment(by: outcome.redeliveredCount)
        if !outcome.unknownPetition.isEmpty {
            unknown.increment(by: outcome.unknownPetition.count)
            logger.warning("signatures for an unknown petition were not taken", metadata: [
                "count": "\(outcome.unknownPetition.count)",
                "submission_ids": "\(outcome.unknownPetition.prefix(10).map { $0.uuidString.lowercased() })",
            ])
        }
        if !outcome.closedPetition.isEmpty || !outcome.notYetOpen.isEmpty || !outcome.erased.isEmpty {
            logger.notice("signatures not stored", metadata: [
                "closed_petition": "\(outcome.closedPetition.count)", "not_yet_open": "\(outcome.notYetOpen.count)",
                "erased_signer": "\(outcome.erased.count)",
            ])
        }
        return dead
    }

    /// The rows of one envelope and the signatures it could not take, or why the whole message cannot be taken.
    /// `x-first-row` as a number, or as text (amqp-publish sends header values as text).
    static func firstRow(_ value: FieldValue?) -> Int64 {
        value?.intValue ?? value?.stringValue.flatMap { Int64($0.trimmingWhitespace()) } ?? 0
    }

    /// The partner a routing key names: its first dot-separated part.
    static func routingKeyPartner(_ routingKey: String) -> String? {
        routingKey.split(separator: ".", maxSplits: 1).first.flatMap { try? PartnerCredentials.validateName(String($0)) }
    }

    private func read(
        _ delivery: Delivery, knownPartners: Set<String>, rules: EmailProviderRules, verifying: Set<String>
    ) -> Result<(rows: [SignatureRow], rejected: [RejectedRow], partner: PartnerEnvelope?), DeadLetter> {
        let envelope: Envelope
        switch WireCodec.decode(Envelope.self, from: delivery.body) {
        case .success(let decoded): envelope = decoded
        case .failure(let problem):
            return .failure(DeadLetter(delivery: delivery, code: problem.code, reason: problem.description))
        }
        var partner: String?
        if delivery.exchange == names.partnersExchange {
            // Provenance the broker checked: RabbitMQ refuses a user_id that is not the connection's login, and
            // a partner's topic permission only lets it use routing keys that start with its login.
            let keyPartner = Self.routingKeyPartner(delivery.routingKey)
            if let userID = delivery.properties.userID, !userID.isEmpty {
                guard keyPartner == userID else {
                    return .failure(DeadLetter(delivery: delivery, code: "partner_mismatch", reason: "the routing key must start with the user_id (\(userID).…)"))
                }
                partner = userID
            } else if let keyPartner, knownPartners.contains(keyPartner) {
                partner = keyPartner  // a tool that cannot set user_id (amqp-publish)
            } else {
                return .failure(DeadLetter(delivery: delivery, code: "missing_user_id", reason: "partner messages must set the user_id property to the partner's login"))
            }
        } else if let named = delivery.properties.headers["x-partner"]?.stringValue {
            // An HTTP batch, published by intake on behalf of the partner whose API key it checked. Only
            // intake may write to signatures.submitted (partners may not), so the header can be trusted there.
            guard let checked = try? PartnerCredentials.validateName(named) else {
                return .failure(DeadLetter(delivery: delivery, code: "invalid_partner", reason: "x-partner is not a partner name"))
            }
            partner = checked
        }
        // A petition that confirms signatures by e-mail needs the data keys to seal the address for the
        // mail. Without them it is the deployment that is wrong, not the signer: the whole envelope waits
        // in the dead letters, with the reason, to be requeued once the keys are set.
        if sealer == nil, let petition = envelope.signatures.first(where: { verifying.contains($0.petition) })?.petition {
            logger.error("a petition confirms signatures by e-mail, but UNDERSIGNED_DATA_KEYS is not set", metadata: ["petition": "\(petition)"])
            return .failure(DeadLetter(
                delivery: delivery, code: "not_configured",
                reason: "petition \(petition) confirms signatures by e-mail, which needs UNDERSIGNED_DATA_KEYS on dedup: set it, then requeue (undersigned dead requeue)"))
        }
        var rejected = envelope.rejected.map {
            RejectedRow(envelopeID: envelope.envelopeID, position: $0.index, problem: $0.problem, partner: partner)
        }
        if !rejected.isEmpty {
            logger.warning("envelope had invalid signatures; the valid ones are kept", metadata: [
                "envelope_id": "\(envelope.envelopeID.uuidString.lowercased())",
                "rejected": "\(envelope.rejected.map { "\($0.index): \($0.problem)" })",
            ])
        }
        // Positions of the valid signatures in the envelope as sent: the indexes not rejected, in order.
        let rejectedPositions = Set(envelope.rejected.map(\.index))
        var positions = (0..<(envelope.signatures.count + envelope.rejected.count)).filter { !rejectedPositions.contains($0) }.makeIterator()
        var rows: [SignatureRow] = []
        rows.reserveCapacity(envelope.signatures.count)
        for var signature in envelope.signatures {
            let position = positions.next() ?? 0
            // A partner's signatures are counted under the partner, whatever source it wrote: `paper:PARTNER`
            // for the paper forms it typed in (source `paper`), else `partner:PARTNER`.
            if let partner { signature.source = SignatureSource(stored: signature.source).vouched(byPartner: partner).stored }
            do throws(ValidationProblem) {
                let email = try CanonicalEmail(signature.email, rules: rules)
                let key = keys.key(for: email)
                // Kept only with consent or for the verification mail, sealed; as typed (it is for writing to them).
                let verify = verifying.contains(signature.petition)
                let contact = signature.contactOptIn || verify
                    ? sealer.flatMap { try? $0.seal(signature.email.trimmingWhitespace(), signerKey: key) }.map(ByteA.init) : nil
                rows.append(SignatureRow(signature: signature, signerKey: key, contactEmail: contact, partner: partner,
                                         envelopeID: envelope.envelopeID, position: position))
            } catch {
                rejected.append(RejectedRow(envelopeID: envelope.envelopeID, position: position, problem: error, partner: partner))
            }
        }
        let receipt = partner.map { partner in
            PartnerEnvelope(
                envelopeID: envelope.envelopeID, partner: partner, batchID: delivery.properties.messageID ?? envelope.envelopeID.uuidString.lowercased(),
                firstRow: Int(max(0, min(Self.firstRow(delivery.properties.headers["x-first-row"]), 1_000_000_000))),
                total: envelope.signatures.count + envelope.rejected.count)
        }
        return .success((rows, rejected, receipt))
    }
}

/// The e-mail rules in force, replaced as a whole when `EmailRulesWatcher` reads new ones.
final class EmailRulesBox: Sendable {
    private let rules: Mutex<EmailProviderRules>

    init(_ rules: EmailProviderRules = .default) {
        self.rules = Mutex(rules)
    }

    var current: EmailProviderRules { rules.withLock { $0 } }

    func replace(_ new: EmailProviderRules) { rules.withLock { $0 = new } }
}

/// Reads `email_domain_rules` every few seconds (`undersigned domains` changes them), so every dedup
/// instance applies the same rules within seconds; a failed read keeps the last rules.
struct EmailRulesWatcher: Service {
    let pool: PostgresPool
    let box: EmailRulesBox
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await everyUntilGracefulShutdown(interval, logger: logger, failure: "cannot read the e-mail domain rules; keeping the last ones") {
            box.replace(try await pool.withConnection { connection in try EmailRules.load(on: connection) })
        }
    }
}
