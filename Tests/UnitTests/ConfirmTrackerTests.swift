import AMQP
import Testing

@Suite("Publisher confirm bookkeeping")
struct ConfirmTrackerTests {
    struct Message: Routed, Equatable {
        var id: Int
        var exchange = "x"
        var routingKey = "k"
    }

    @Test func multipleAcksConfirmEverythingUpToTheTagInOrder() {
        var tracker = ConfirmTracker<Message>()
        for id in 1...5 { #expect(tracker.published(Message(id: id)) == UInt64(id)) }
        let confirmed = tracker.acked(3, multiple: true)
        #expect(confirmed.map(\.0.id) == [1, 2, 3])
        #expect(confirmed.allSatisfy { (try? $0.1.get()) != nil })
        #expect(tracker.count == 2)
        #expect(tracker.acked(3, multiple: true).isEmpty, "an ack is never applied twice")
    }

    @Test func singleAcksMayComeOutOfOrder() {
        var tracker = ConfirmTracker<Message>()
        for id in 1...3 { tracker.published(Message(id: id)) }
        #expect(tracker.acked(2, multiple: false).map(\.0.id) == [2])
        #expect(tracker.acked(1, multiple: false).map(\.0.id) == [1])
        #expect(tracker.acked(3, multiple: true).map(\.0.id) == [3])
        #expect(tracker.isEmpty)
    }

    @Test func nacksReportTheMessages() {
        var tracker = ConfirmTracker<Message>()
        for id in 1...4 { tracker.published(Message(id: id)) }
        #expect(tracker.nacked(2, multiple: true).map(\.id) == [1, 2])
        #expect(tracker.acked(4, multiple: true).map(\.0.id) == [3, 4])
    }

    @Test("a return marks the oldest unconfirmed message of that route, whose ack then fails as unroutable")
    func returnsMakeTheAckFail() {
        var tracker = ConfirmTracker<Message>()
        tracker.published(Message(id: 1, exchange: "a", routingKey: "k"))
        tracker.published(Message(id: 2, exchange: "b", routingKey: "nowhere"))
        tracker.published(Message(id: 3, exchange: "b", routingKey: "nowhere"))
        tracker.returned(replyCode: 312, exchange: "b", routingKey: "nowhere")
        let outcomes = tracker.acked(3, multiple: true)
        #expect(outcomes.map(\.0.id) == [1, 2, 3])
        #expect((try? outcomes[0].1.get()) != nil)
        guard case .failure(let error) = outcomes[1].1 else {
            Issue.record("a returned message was confirmed")
            return
        }
        #expect(error.code == .unroutable)
        #expect(error.replyCode == 312)
        #expect((try? outcomes[2].1.get()) != nil, "only one message was returned")
    }

    @Test("a lost channel gives back the unconfirmed messages in order and numbering starts again")
    func resetReturnsUnconfirmedInOrder() {
        var tracker = ConfirmTracker<Message>()
        for id in 1...4 { tracker.published(Message(id: id)) }
        _ = tracker.acked(2, multiple: false)
        #expect(tracker.reset().map(\.id) == [1, 3, 4])
        #expect(tracker.isEmpty)
        #expect(tracker.published(Message(id: 9)) == 1)
    }
}
