import AMQP
import ArgumentParser
import Foundation
import Messaging
import Models
import ServiceSupport
import Synchronization

struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead", abstract: "Inspect and replay dead-lettered messages.",
        subcommands: [List.self, Show.self, Requeue.self])

    struct Options: ParsableArguments {
        @Option(help: "The work queue whose dead letters to read (dedup.submitted, tally.accepted, delivery.milestones, delivery.receipts); partners' queues dead-letter into dedup.submitted.")
        var queue = "dedup.submitted"
        @Option(help: "Most messages to read.") var limit = 100
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters with their reasons (they stay in the queue).")
        @OptionGroup var options: Options

        func run() async throws {
            let letters = try await DeadLetters.read(options, settle: { _ in .requeue })
            let names = try Environment().common.topology
            print("#\tfailed_at\tservice\tfrom\terror\tmessage_id\treason")
            for (index, letter) in letters.enumerated() {
                let h = letter.properties.headers
                let columns = [
                    "\(index)", h[DeadLetter.Header.failedAt]?.description ?? "-", h[DeadLetter.Header.service]?.description ?? "broker",
                    DeadLetters.partner(letter, names: names) ?? "-", DeadLetters.code(letter), letter.properties.messageID ?? "-",
                    DeadLetters.reason(letter),
                ]
                print(columns.joined(separator: "\t"))
            }
            print("\(letters.count) dead letter(s) in \(options.queue).dead")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter's headers (and, with --body, its body, which may hold personal data).")
        @OptionGroup var options: Options
        @Argument(help: "The letter's number in `dead list`.") var index: Int
        @Flag(help: "Print the body too.") var body = false

        func run() async throws {
            let letters = try await DeadLetters.read(options, settle: { _ in .requeue })
            guard letters.indices.contains(index) else { throw ValidationError("there is no dead letter \(index)") }
            let letter = letters[index]
            print("exchange: \(letter.exchange)\nrouting key: \(letter.routingKey)\nmessage id: \(letter.properties.messageID ?? "-")")
            for (key, value) in letter.properties.headers.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
            if body { print(String(decoding: letter.body, as: UTF8.self)) }
        }
    }

    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish dead letters back to where they came from, then remove them.")
        @OptionGroup var options: Options

        func run() async throws {
            let environment = try Environment()
            let publisher = AMQPPublisher(
                configuration: .init(connection: environment.common.amqp(role: "ctl-publisher"), topology: .undersigned(environment.common.topology)),
                logger: Environment.logger)
            publisher.start()
            let names = environment.common.topology
            let work = names.prefix + options.queue
            let refused = Mutex(0)
            let letters = try await DeadLetters.read(options) { letters in
                // A letter whose origin is not an exchange that feeds this queue is put back as it was.
                let messages = letters.map { letter in
                    DeadLetters.republished(letter, queue: work, names: names)
                        ?? OutgoingMessage(exchange: "", routingKey: names.deadQueue(for: work), body: letter.body, properties: letter.properties.withoutUserID)
                }
                do {
                    try await publisher.publish(messages)
                    refused.withLock { $0 += messages.filter { $0.exchange.isEmpty }.count }
                    return .ack
                } catch {
                    print("could not republish: \(error)")
                    return .requeue
                }
            }
            await publisher.stop()
            let kept = refused.withLock { $0 }
            print("requeued \(letters.count - kept) message(s) from \(options.queue).dead"
                + (kept > 0 ? "; \(kept) kept there: their origin is not an exchange that feeds \(options.queue) (forged or foreign)" : ""))
        }
    }
}

enum DeadLetters {
    /// Reads up to `limit` dead letters of a queue, then settles them as `settle` says.
    static func read(_ options: DeadCommand.Options, settle: @escaping ([Delivery]) async -> AMQPConsumer.Settlement) async throws -> [Delivery] {
        try await read(queue: options.queue, limit: options.limit, settle: settle)
    }

    static func read(queue work: String, limit: Int, settle: @escaping ([Delivery]) async -> AMQPConsumer.Settlement) async throws -> [Delivery] {
        let environment = try Environment()
        let names = environment.common.topology
        guard names.workQueues.contains(names.prefix + work) else {
            if work.hasPrefix("partner.") && work.hasSuffix(".submitted") {
                throw ValidationError("""
                    \(work) keeps no dead letters of its own: a partner's messages that cannot be taken join dedup's. \
                    Use --queue dedup.submitted; the from column of `dead list` names the partner.
                    """)
            }
            let queues = names.workQueues.map { String($0.dropFirst(names.prefix.count)) }
            throw ValidationError("no dead letters are kept for \(work); the work queues are \(queues.joined(separator: ", "))")
        }
        let queue = names.deadQueue(for: names.prefix + work)
        let options = (limit: limit, queue: work)
        let admin = try AMQPAdmin(configuration: environment.common.amqp(role: "ctl"))
        try admin.declare(.undersigned(names))
        let available = min(options.limit, try admin.queueStatus(queue).messages)
        guard available > 0 else { return [] }
        let consumer = AMQPConsumer(
            configuration: .init(connection: environment.common.amqp(role: "ctl-consumer"), topology: .undersigned(names), queue: queue,
                                 prefetch: available, batchSize: available, batchWait: .milliseconds(500)),
            logger: Environment.logger)
        consumer.start()
        var letters: [Delivery] = []
        for await batch in consumer.batches {
            letters += batch.deliveries
            consumer.settle(batch, await settle(batch.deliveries))
            if letters.count >= available { break }
        }
        await consumer.stop()
        return letters
    }

    static func code(_ letter: Delivery) -> String {
        letter.properties.headers[DeadLetter.Header.code]?.stringValue ?? death(letter)?["reason"]?.stringValue ?? "-"
    }

    static func reason(_ letter: Delivery) -> String {
        letter.properties.headers[DeadLetter.Header.reason]?.stringValue
            ?? death(letter).map { "dead-lettered by the broker (\($0["reason"]?.description ?? "?"), \($0["count"]?.description ?? "?") time(s))" } ?? "-"
    }

    /// The partner a dead letter came from: the first part of its routing key on the partners' exchange,
    /// or the partner intake named for an HTTP batch; nil for everything else.
    static func partner(_ letter: Delivery, names: TopologyNames) -> String? {
        let original = original(letter, names: names)
        if original.exchange == names.partnersExchange { return original.routingKey.split(separator: ".").first.map(String.init) }
        return letter.properties.headers["x-partner"]?.stringValue
    }

    /// The broker's own record (`x-death`) for messages it dead-lettered (delivery limit, rejection).
    static func death(_ letter: Delivery) -> [String: FieldValue]? {
        guard case .array(let deaths)? = letter.properties.headers["x-death"], case .table(let first)? = deaths.first else { return nil }
        return first
    }

    /// Where a letter was published before it died, by what vouches for it: the broker's own `x-death` when
    /// the broker dead-lettered it (then every other header, `x-undersigned-…` included, is the sender's
    /// word); else the headers our services wrote when they dead-lettered it (they overwrite whatever a
    /// sender put there, and drop a sender's `x-death`). Nil when neither says.
    static func origin(_ letter: Delivery, names: TopologyNames = TopologyNames()) -> (exchange: String, routingKey: String)? {
        if let death = death(letter), let exchange = death["exchange"]?.stringValue {
            guard case .array(let keys)? = death["routing-keys"], let key = keys.first?.stringValue,
                let queue = death["queue"]?.stringValue
            else { return nil }
            // The broker keeps the first entry's exchange and keys when it finds an entry for the same queue
            // and reason already there (which a sender can have written): only believe an exchange and key
            // that can lead to the queue the entry names.
            if queue.hasPrefix(names.prefix + "partner."), queue.hasSuffix(".submitted") {
                let partner = String(queue.dropFirst((names.prefix + "partner.").count).dropLast(".submitted".count))
                guard exchange == names.partnersExchange, key == partner || key.hasPrefix(partner + ".") else { return nil }
            } else if names.workQueues.contains(queue) {
                guard sources(of: queue, names: names).contains(exchange), exchange != names.partnersExchange else { return nil }
            } else {
                return nil
            }
            return (exchange, key)
        }
        let headers = letter.properties.headers
        guard let exchange = headers[DeadLetter.Header.originalExchange]?.stringValue,
            let key = headers[DeadLetter.Header.originalRoutingKey]?.stringValue
        else { return nil }
        return (exchange, key)
    }

    /// The exchanges that feed a work queue: a letter of that queue goes back to one of these, or nowhere.
    static func sources(of queue: String, names: TopologyNames) -> Set<String> {
        switch queue {
        case names.dedupQueue: [names.submittedExchange, names.partnersExchange]
        case names.tallyQueue: [names.acceptedExchange]
        case names.deliveryMilestonesQueue: [names.milestonesExchange]
        case names.deliveryReceiptsQueue: [names.partnerReceiptsExchange]
        default: []
        }
    }

    /// The message as it was before it died (for `dead list`): its origin, our headers removed.
    static func original(_ letter: Delivery, names: TopologyNames = TopologyNames()) -> OutgoingMessage {
        let origin = origin(letter, names: names)
        return OutgoingMessage(
            exchange: origin?.exchange ?? letter.exchange, routingKey: origin?.routingKey ?? letter.routingKey, body: letter.body,
            properties: cleaned(letter.properties, keepPartner: true))
    }

    /// The message to publish again for a letter of `queue`, or nil when its origin is not one of the
    /// exchanges that feed `queue` (a forged letter: it stays where it is). `user_id` is cleared (the
    /// republisher is not the sender; a partner's message is taken by its routing key, which the broker
    /// checked on the way in), and `x-partner` is kept only on intake's own exchange, where partners
    /// cannot write.
    static func republished(_ letter: Delivery, queue: String, names: TopologyNames) -> OutgoingMessage? {
        guard let origin = origin(letter, names: names), sources(of: queue, names: names).contains(origin.exchange) else { return nil }
        var properties = cleaned(letter.properties, keepPartner: origin.exchange == names.submittedExchange)
        properties.userID = nil
        return OutgoingMessage(exchange: origin.exchange, routingKey: origin.routingKey, body: letter.body, properties: properties)
    }

    private static func cleaned(_ properties: MessageProperties, keepPartner: Bool) -> MessageProperties {
        var properties = properties
        properties.headers = properties.headers.filter { key, _ in
            !key.hasPrefix("x-undersigned-") && key != "x-death" && !key.hasPrefix("x-first-death") && !key.hasPrefix("x-last-death")
                && (keepPartner || key != "x-partner")
        }
        return properties
    }
}


extension DeadLetters {
    /// Takes a signer's signatures out of the envelopes kept as dead letters (`dedup.submitted.dead`, where
    /// the partners' queues dead-letter too; the other dead queues hold ids and counts, no person): if a
    /// letter holds one, every letter read is published back to the dead queue (confirmed) with those
    /// signatures removed (a letter left empty is dropped), then the old ones are acked; otherwise they are
    /// left as they were. A letter that is not a readable envelope cannot be taken apart: it is dropped
    /// whole when `mentions` finds the signer in its bytes (it could never be taken as it is, and the
    /// partner that sent it was told so). Returns the signatures and the unreadable letters removed.
    static func erase(
        where matches: @escaping @Sendable (Signature) -> Bool, mentions: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> (signatures: Int, unreadable: Int) {
        let environment = try Environment()
        let names = environment.common.topology
        let publisher = AMQPPublisher(
            configuration: .init(connection: environment.common.amqp(role: "ctl-publisher"), topology: .undersigned(names)), logger: Environment.logger)
        publisher.start()
        let removed = Mutex((signatures: 0, unreadable: 0))
        for queue in [names.dedupQueue.dropFirst(names.prefix.count)] {
            let deadQueue = names.deadQueue(for: names.prefix + queue)
            _ = try await read(queue: String(queue), limit: 1_000_000) { letters in
                var found = 0, unreadable = 0
                var kept: [OutgoingMessage] = []
                for letter in letters {
                    var body = letter.body
                    if case .success(var envelope) = WireCodec.decode(Envelope.self, from: letter.body) {
                        let before = envelope.signatures.count
                        envelope.signatures.removeAll(where: matches)
                        if envelope.signatures.count < before {
                            found += before - envelope.signatures.count
                            if envelope.signatures.isEmpty && envelope.rejected.isEmpty { continue }
                            body = WireCodec.encode(envelope)
                        }
                    } else if mentions(Array(letter.body)) {
                        unreadable += 1
                        continue
                    }
                    kept.append(OutgoingMessage(exchange: "", routingKey: deadQueue, body: body, properties: letter.properties.withoutUserID))
                }
                guard found + unreadable > 0 else { return .requeue }
                do {
                    try await publisher.publish(kept)
                } catch {
                    return .requeue
                }
                removed.withLock { $0.signatures += found; $0.unreadable += unreadable }
                return .ack
            }
        }
        await publisher.stop()
        return removed.withLock { $0 }
    }
}

extension MessageProperties {
    /// The same properties without `user_id`: a message the CLI publishes again is not the sender's to
    /// vouch for (the broker refuses a `user_id` that is not the publishing login).
    var withoutUserID: MessageProperties {
        var properties = self
        properties.userID = nil
        return properties
    }
}
