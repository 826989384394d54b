import DequeModule

/// A message on its way to the broker: what a `basic.return` is matched by.
public protocol Routed {
    var exchange: String { get }
    var routingKey: String { get }
}

extension OutgoingMessage: Routed {}

/// The publisher-confirm bookkeeping of one channel, as a value with no I/O, so that unit tests can drive it.
///
/// The broker numbers messages from 1 per channel (after `confirm.select`), acks or nacks each exactly once,
/// possibly many at a time (`multiple`) and not necessarily in order, and sends a `basic.return` (which
/// carries no number) right before the ack of a mandatory message it could not route.
public struct ConfirmTracker<Item: Routed> {
    struct Entry {
        let sequence: UInt64
        let item: Item
        var returnCode: Int?
    }

    private var entries = Deque<Entry>()
    private var nextSequence: UInt64 = 1

    public init() {}

    /// Messages published and not yet acked or nacked.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Records a publish; returns the sequence number the broker will confirm it by.
    @discardableResult
    public mutating func published(_ item: Item) -> UInt64 {
        defer { nextSequence += 1 }
        entries.append(Entry(sequence: nextSequence, item: item, returnCode: nil))
        return nextSequence
    }

    /// A `basic.return`: it belongs to the oldest unconfirmed message with that exchange and routing key.
    public mutating func returned(replyCode: Int, exchange: String, routingKey: String) {
        if let index = entries.firstIndex(where: { $0.returnCode == nil && $0.item.exchange == exchange && $0.item.routingKey == routingKey }) {
            entries[index].returnCode = replyCode
        }
    }

    /// A `basic.ack`: the messages it confirms, in publish order, each with its outcome (a returned message
    /// is acked too, but it reached no queue).
    public mutating func acked(_ tag: UInt64, multiple: Bool) -> [(Item, Result<Void, AMQPError>)] {
        take(tag, multiple: multiple).map { entry in
            guard let code = entry.returnCode else { return (entry.item, .success(())) }
            return (entry.item, .failure(AMQPError(
                code: .unroutable, replyCode: code,
                message: "no queue is bound for \(entry.item.exchange) / \(entry.item.routingKey)")))
        }
    }

    /// A `basic.nack`: the messages the broker could not take.
    public mutating func nacked(_ tag: UInt64, multiple: Bool) -> [Item] {
        take(tag, multiple: multiple).map(\.item)
    }

    /// The channel is gone: every unconfirmed message, in publish order; numbering restarts at 1 for the next channel.
    public mutating func reset() -> [Item] {
        defer {
            entries.removeAll()
            nextSequence = 1
        }
        return entries.map(\.item)
    }

    private mutating func take(_ tag: UInt64, multiple: Bool) -> [Entry] {
        if multiple {
            var taken: [Entry] = []
            while let first = entries.first, first.sequence <= tag {
                taken.append(entries.removeFirst())
            }
            return taken
        }
        guard let index = entries.firstIndex(where: { $0.sequence == tag }) else { return [] }
        return [entries.remove(at: index)]
    }
}
